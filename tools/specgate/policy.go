package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// policy is api/breaking-changes.yaml.
type policy struct {
	// Levels are oasdiff levels (err, warn, info, none) by check id, where
	// the contract's policy differs from oasdiff's defaults.
	Levels map[string]string `yaml:"levels"`
	// Acknowledged are breaking changes made on purpose.
	Acknowledged []acknowledgement `yaml:"acknowledged"`
}

// acknowledgement lets one breaking change through, in one version, and
// says why.
type acknowledgement struct {
	// Version is the info.version that makes the change.
	Version string `yaml:"version"`
	// ID is oasdiff's id of the change, such as response-property-removed.
	ID string `yaml:"id"`
	// Operation is where: "POST /refresh", or "components".
	Operation string `yaml:"operation"`
	// Detail, when set, must be in the change's text: the property or the
	// status it is about, when one operation has several changes of one id.
	Detail string `yaml:"detail"`
	// Reason says why the change is worth breaking clients.
	Reason string `yaml:"reason"`
}

func (a acknowledgement) matches(c change, version string) bool {
	return a.Version == version && a.ID == c.ID && a.Operation == c.where() &&
		(a.Detail == "" || strings.Contains(c.Text, a.Detail))
}

var levelNames = map[string]bool{"err": true, "warn": true, "info": true, "none": true}

func loadPolicy(path string) (policy, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return policy{}, err
	}
	return parsePolicy(path, text)
}

func parsePolicy(path string, text []byte) (policy, error) {
	var p policy
	decoder := yaml.NewDecoder(bytes.NewReader(text))
	decoder.KnownFields(true)
	if err := decoder.Decode(&p); err != nil {
		return policy{}, fmt.Errorf("%s: %w", path, err)
	}
	var errs []error
	for id, level := range p.Levels {
		if !levelNames[level] {
			errs = append(errs, fmt.Errorf("levels.%s: %q is not err, warn, info or none", id, level))
		}
	}
	for i, a := range p.Acknowledged {
		where := fmt.Sprintf("acknowledged[%d]", i)
		if !semver.MatchString(a.Version) {
			errs = append(errs, fmt.Errorf("%s: version %q is not MAJOR.MINOR.PATCH", where, a.Version))
		}
		if a.ID == "" || a.Operation == "" {
			errs = append(errs, fmt.Errorf("%s: id and operation are required", where))
		}
		if len(strings.Fields(a.Reason)) < 3 {
			errs = append(errs, fmt.Errorf("%s: reason must say why the change is worth breaking clients", where))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return policy{}, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// semver is a version of the form MAJOR.MINOR.PATCH.
var semver = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)

// version is MAJOR.MINOR.PATCH.
type version [3]int

func parseVersion(s string) (version, bool) {
	m := semver.FindStringSubmatch(s)
	if m == nil {
		return version{}, false
	}
	var v version
	for i := range v {
		n, err := strconv.Atoi(m[i+1])
		if err != nil {
			return version{}, false
		}
		v[i] = n
	}
	return v, true
}

func (v version) compare(w version) int {
	for i := range v {
		if v[i] != w[i] {
			if v[i] < w[i] {
				return -1
			}
			return 1
		}
	}
	return 0
}

func (v version) String() string { return fmt.Sprintf("%d.%d.%d", v[0], v[1], v[2]) }

// compareVersions orders two MAJOR.MINOR.PATCH strings; others sort first.
func compareVersions(a, b string) int {
	va, _ := parseVersion(a)
	vb, _ := parseVersion(b)
	return va.compare(vb)
}

// specVersion reads info.version of a spec.
func specVersion(text []byte) (string, error) {
	var doc struct {
		Info struct {
			Version string `yaml:"version"`
		} `yaml:"info"`
	}
	if err := yaml.Unmarshal(text, &doc); err != nil {
		return "", err
	}
	if doc.Info.Version == "" {
		return "", errors.New("no info.version")
	}
	return doc.Info.Version, nil
}

package main

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"golang.org/x/mod/semver"
)

// strictVersion is MAJOR.MINOR.PATCH, each a number without leading zeros:
// no "v", no pre-release, as the image's tag and refserver -version print it.
var strictVersion = regexp.MustCompile(`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$`)

// compareVersions orders two versions; ones that are not MAJOR.MINOR.PATCH
// sort first.
func compareVersions(a, b string) int { return semver.Compare("v"+a, "v"+b) }

// nextMajor is the first version of the major after v's.
func nextMajor(v string) string {
	major, err := strconv.Atoi(strings.TrimPrefix(semver.Major("v"+v), "v"))
	if err != nil {
		return v
	}
	return fmt.Sprintf("%d.0.0", major+1)
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

// versionRule is the part of the versioning rule that oasdiff does not
// judge (its MISSING-VERSION-BUMP judges the major version of breaking
// changes only): info.version is MAJOR.MINOR.PATCH, never goes down, and is
// raised by any change. It returns what is wrong, if anything.
func versionRule(baseVersion, revVersion string, changed bool) string {
	switch {
	case !strictVersion.MatchString(revVersion):
		return fmt.Sprintf("info.version %q is not MAJOR.MINOR.PATCH", revVersion)
	case !strictVersion.MatchString(baseVersion):
		return "" // a base from before the rule: nothing to compare with
	case compareVersions(revVersion, baseVersion) < 0:
		return fmt.Sprintf("info.version went down, from %s to %s", baseVersion, revVersion)
	case changed && revVersion == baseVersion:
		return fmt.Sprintf("the contract changed, so info.version must be raised from %s: the major version for a breaking change, the minor version for an addition, else the patch version", baseVersion)
	}
	return ""
}

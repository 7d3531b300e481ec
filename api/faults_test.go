package api_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/hzkit/sendmessage/api"
)

// Fault rules may name exactly Horizon's operations (tags Auth and
// Inventory), never the reference server's own, and each of those declares
// the statuses that fault rules add to Horizon's: 429, 502, 503 and 504.
func TestFaultRulesNameHorizonsOperations(t *testing.T) {
	t.Parallel()
	doc, err := api.Load()
	if err != nil {
		t.Fatal(err)
	}
	var horizon []string
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if !slices.Contains(op.Tags, "Auth") && !slices.Contains(op.Tags, "Inventory") {
				continue
			}
			horizon = append(horizon, op.OperationID)
			for _, status := range []string{"429", "502", "503", "504"} {
				if op.Responses.Value(status) == nil {
					t.Errorf("%s declares no %s", op.OperationID, status)
				}
			}
		}
	}
	var named []string
	for _, v := range doc.Components.Schemas["FaultOperation"].Value.Enum {
		named = append(named, fmt.Sprint(v))
	}
	slices.Sort(horizon)
	slices.Sort(named)
	if !slices.Equal(horizon, named) {
		t.Errorf("FaultOperation names %v; Horizon's operations are %v", named, horizon)
	}
	for _, name := range []string{"TooManyRequests", "ServiceUnavailable"} {
		if doc.Components.Responses[name].Value.Headers["Retry-After"] == nil {
			t.Errorf("%s declares no Retry-After", name)
		}
	}
}

// A respond rule may send Retry-After exactly with the statuses whose
// answers declare it, for every operation that rules name: the schema's
// FaultRetryAfterStatus and the responses say the same.
func TestRetryAfterGoesWithTheStatusesThatDeclareIt(t *testing.T) {
	t.Parallel()
	doc, err := api.Load()
	if err != nil {
		t.Fatal(err)
	}
	var allowed []string
	for _, v := range doc.Components.Schemas["FaultRetryAfterStatus"].Value.Not.Value.Properties["status"].Value.Not.Value.Enum {
		allowed = append(allowed, fmt.Sprint(v))
	}
	slices.Sort(allowed)
	named := map[string]bool{}
	for _, v := range doc.Components.Schemas["FaultOperation"].Value.Enum {
		named[fmt.Sprint(v)] = true
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if !named[op.OperationID] {
				continue
			}
			var declaring []string
			for code, resp := range op.Responses.Map() {
				if resp.Value != nil && resp.Value.Headers["Retry-After"] != nil {
					declaring = append(declaring, code)
				}
			}
			slices.Sort(declaring)
			if !slices.Equal(allowed, declaring) {
				t.Errorf("%s declares Retry-After with %v; FaultRetryAfterStatus allows it with %v", op.OperationID, declaring, allowed)
			}
		}
	}
}

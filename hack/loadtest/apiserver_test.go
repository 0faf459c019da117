package main

import (
	"strings"
	"testing"
)

func TestAPIServerCountsRequestsAndConsistencyChecks(t *testing.T) {
	page := `# HELP apiserver_request_total [STABLE] Counter of apiserver requests
apiserver_request_total{code="200",component="apiserver",dry_run="",group="scim.example.com",resource="scimusers",scope="cluster",subresource="",verb="LIST",version="v1alpha1"} 3
apiserver_request_total{code="200",component="apiserver",dry_run="",group="scim.example.com",resource="scimusers",scope="namespace",subresource="status",verb="PUT",version="v1alpha1"} 7
apiserver_request_total{code="409",component="apiserver",dry_run="",group="scim.example.com",resource="scimusers",scope="namespace",subresource="status",verb="PUT",version="v1alpha1"} 2
apiserver_request_total_other{verb="GET",resource="pods"} 100
apiserver_storage_consistency_checks_total{group="scim.example.com",resource="scimusers",status="success"} 1
apiserver_storage_consistency_checks_total{group="scim.example.com",resource="scimusers",status="failure"} 1
apiserver_storage_consistency_checks_total{group="rbac.authorization.k8s.io",resource="rolebindings",status="success"} 4
`
	before := apiServerCounts{Requests: tally{}, ConsistencyChecks: tally{}}
	if err := eachLine(strings.NewReader(page), before.add); err != nil {
		t.Fatal(err)
	}
	if s := before.String(); s != "requests: PUT scimusers/status 9, LIST scimusers 3; consistency checks of its cache: rolebindings 4, scimusers 2" {
		t.Errorf("counts = %q", s)
	}
	after := apiServerCounts{
		Requests:          tally{"LIST scimusers": 4, "PUT scimusers/status": 9, "WATCH rolebindings": 1},
		ConsistencyChecks: tally{"scimusers": 2, "rolebindings": 4},
	}
	if s := after.since(before).String(); s != "requests: LIST scimusers 1, WATCH rolebindings 1" {
		t.Errorf("since = %q", s)
	}
	if s := (apiServerCounts{}).String(); s != "requests: none" {
		t.Errorf("nothing counted = %q", s)
	}
}

func TestRequestCountsPrintTheEightMostFrequent(t *testing.T) {
	c := tally{}
	for i, k := range []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"} {
		c["GET "+k] = float64(i + 1)
	}
	if s := c.String(); !strings.HasPrefix(s, "GET j 10, GET i 9") || !strings.HasSuffix(s, "GET c 3, and 2 more") {
		t.Errorf("%q", s)
	}
}

func TestLabelIsFoundByItsWholeName(t *testing.T) {
	line := `m{subresource="status",resource="scimusers",note="a, b",le="+Inf"} 3`
	for name, want := range map[string]string{"resource": "scimusers", "subresource": "status", "note": "a, b", "le": "+Inf", "source": ""} {
		if got := label(line, name); got != want {
			t.Errorf("label %s = %q, want %q", name, got, want)
		}
	}
}

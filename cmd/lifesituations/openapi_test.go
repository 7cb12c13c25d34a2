package main

import (
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"lifesituations/adapters/citizenapi"
	"lifesituations/adapters/httpapi"
)

// TestOpenAPIListsEveryRoute keeps docs/openapi.yaml and the server in
// step: every route served is documented, and every documented operation
// is served.
func TestOpenAPIListsEveryRoute(t *testing.T) {
	b, err := os.ReadFile("../../docs/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("docs/openapi.yaml: %v", err)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			switch method {
			case "get", "post", "put", "patch", "delete":
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	served := httpapi.Config{Routes: serverRoutes(nil, citizenapi.New(nil, nil, nil))}.Patterns()
	for _, p := range served {
		if !slices.Contains(documented, p) {
			t.Errorf("%s is served but not in docs/openapi.yaml", p)
		}
	}
	for _, p := range documented {
		if !slices.Contains(served, p) {
			t.Errorf("%s is in docs/openapi.yaml but not served", p)
		}
	}
}

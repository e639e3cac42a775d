package config

import "testing"

// The shipped example must load and validate, and name no unknown key.
func TestExampleConfig(t *testing.T) {
	c, err := Load("../../config/outreach.example.toml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

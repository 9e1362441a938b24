package ecrtest

import (
	"encoding/json"
	"testing"
)

// PolicyDays checks that a lifecycle policy is the one rule the original
// plugin put (priority 1: any image expires some days after its push) and
// returns those days.
func PolicyDays(tb testing.TB, policy string) int {
	tb.Helper()
	var p struct {
		Rules []struct {
			RulePriority int `json:"rulePriority"`
			Selection    struct {
				TagStatus   string `json:"tagStatus"`
				CountType   string `json:"countType"`
				CountUnit   string `json:"countUnit"`
				CountNumber int    `json:"countNumber"`
			} `json:"selection"`
			Action struct {
				Type string `json:"type"`
			} `json:"action"`
		} `json:"rules"`
	}
	if err := json.Unmarshal([]byte(policy), &p); err != nil || len(p.Rules) != 1 {
		tb.Fatalf("lifecycle policy %q: want one rule (%v)", policy, err)
	}
	r := p.Rules[0]
	if r.RulePriority != 1 || r.Selection.TagStatus != "any" || r.Selection.CountType != "sinceImagePushed" ||
		r.Selection.CountUnit != "days" || r.Action.Type != "expire" {
		tb.Errorf("lifecycle policy %s: want one rule, priority 1, expiring any image some days after its push", policy)
	}
	return r.Selection.CountNumber
}

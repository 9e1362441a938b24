package key

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

func TestChanged(t *testing.T) {
	t.Parallel()
	record := func(in ...Input) string {
		b, err := json.Marshal(PublishedInputs(in))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	now := Key{Tag: "new", Inputs: []Input{{"dockerfile", "sha256:2"}, {"build-arg A", "sha256:a2"}, {"file b", "sha256:b"}}}
	tests := []struct {
		name, recorded, recordedKey string
		want                        []Change
	}{
		{"modified, added, removed", record(Input{"dockerfile", "sha256:1"}, Input{"build-arg A", "sha256:a1"}, Input{"file gone", "sha256:g"}), "old",
			[]Change{{Modified, "dockerfile"}, {Added, "file b"}, {Removed, "file gone"}}},
		{"only a build-arg value", record(Input{"dockerfile", "sha256:2"}, Input{"build-arg A", "sha256:a1"}, Input{"file b", "sha256:b"}), "old",
			[]Change{{Unrecorded, BuildArgValues}}},
		{"same key", record(now.Inputs...), "new", nil},
		{"no record", "", "old", nil},
		{"not JSON", "{", "old", nil},
	}
	for _, tt := range tests {
		if got := Changed(tt.recorded, tt.recordedKey, now); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Changed = %v, want %v", tt.name, got, tt.want)
		}
	}
	if strings.Contains(record(now.Inputs...), "sha256:a2") {
		t.Error("PublishedInputs records a build arg's digest")
	}
	if got := DescribeChanges([]Change{{Modified, "a"}, {Added, "b"}, {Removed, "c"}}, 2, strings.ToUpper); got != "A, B (new), and 1 more" {
		t.Errorf("DescribeChanges = %q", got)
	}
	if got := DescribeChanges(nil, 2, strings.ToUpper); got != NoRecordedChange {
		t.Errorf("DescribeChanges(nil) = %q", got)
	}
}

package testenv

import (
	"testing"
)

func TestSlowFollowsTheEnvironment(t *testing.T) {
	for _, tc := range []struct {
		val  string
		want bool
	}{{"1", true}, {"", false}, {"0", false}, {"yes", false}} {
		t.Setenv(SlowEnv, tc.val)
		if got := SlowEnabled(); got != tc.want && !testing.Short() {
			t.Errorf("%s=%q: SlowEnabled() = %v, want %v", SlowEnv, tc.val, got, tc.want)
		}
		ran := false
		t.Run("gate", func(t *testing.T) {
			Slow(t)
			ran = true
		})
		if ran != (tc.want && !testing.Short()) {
			t.Errorf("%s=%q: slow test ran = %v", SlowEnv, tc.val, ran)
		}
	}
}

func TestStrings(t *testing.T) {
	got := Strings([]string{"a", "é"}, 2)
	want := []string{"", "a", "é", "aa", "aé", "éa", "éé"}
	if len(got) != len(want) {
		t.Fatalf("Strings = %q, want %q", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Strings = %q, want %q", got, want)
		}
	}
	if n := len(Strings([]string{"a", "b", "c"}, 3)); n != 1+3+9+27 {
		t.Errorf("%d strings of up to 3 over 3 symbols, want 40", n)
	}
}

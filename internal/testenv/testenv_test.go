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

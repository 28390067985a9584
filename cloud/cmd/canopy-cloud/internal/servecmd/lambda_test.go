package servecmd

import (
	"os"
	"strings"
	"testing"
)

// Outside Lambda, and with a bad configuration, lambda says what is wrong.
func TestLambdaConfig(t *testing.T) {
	t.Setenv("AWS_LAMBDA_RUNTIME_API", "")
	for _, tt := range []struct {
		name string
		env  map[string]string
		args []string
		want []string
	}{
		{"nothing", nil, nil, []string{"--database-url ($CANOPY_DATABASE_URL)"}},
		{"every problem", map[string]string{"CANOPY_DATABASE_URL": "sqlite://x", "CANOPY_METHOD": "magic", "CANOPY_LOG_LEVEL": "loud"}, nil,
			[]string{"--database-url", "--method", "--log-level"}},
		{"bad variable", map[string]string{"CANOPY_SWEEP_MAX": "many"}, nil, []string{"$CANOPY_SWEEP_MAX"}},
		{"not in lambda", nil, []string{"--database-url", "postgres://x@127.0.0.1:1/x"}, []string{"not inside AWS Lambda"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for _, k := range []string{"CANOPY_DATABASE_URL", "CANOPY_METHOD", "CANOPY_LOG_LEVEL", "CANOPY_SWEEP_MAX"} {
				t.Setenv(k, tt.env[k])
				if tt.env[k] == "" {
					os.Unsetenv(k)
				}
			}
			err := cmdLambda(tt.args)
			if err == nil {
				t.Fatal("got nil, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

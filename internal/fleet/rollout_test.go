package fleet

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/canopy-forest/canopy/internal/e2etest"
)

// testRollout is the end-to-end test of issue 23 on one broker: 20
// simulated devices and one real canopy-agent, a model rolled out in two
// waves; one device offline during the rollout converges when it comes
// back; the real agent, SIGKILLed in the middle of its download, resumes
// where it stopped; a corrupt model is rolled back by every device of its
// first wave and the rollout halts.
func testRollout(t *testing.T, broker, database string) {
	cloud, agent := e2etest.Bin(t, "canopy-cloud"), e2etest.Bin(t, "canopy-agent")
	dir := t.TempDir()
	model := filepath.Join(dir, "treecover-padded.onnx")
	if err := PadONNX("../../models/treecover-seg.onnx", model, 3<<20); err != nil {
		t.Fatal(err)
	}
	c := RolloutConfig{
		Devices: 20, CloudBin: cloud, AgentBin: agent, AgentLib: os.Getenv("CANOPY_ORT_LIB"), AgentMaxRate: 1 << 20,
		Broker: broker, DatabaseURL: database, Model: model, Waves: 2, Canary: 0.5, Faults: true,
		Dir: filepath.Join(dir, "run"), Deadline: 2 * time.Minute, Log: t.Logf,
	}
	rep, err := RunRollout(context.Background(), c)
	var b bytes.Buffer
	rep.Print(&b)
	t.Logf("report:\n%s", b.String())
	if err != nil {
		if log, rerr := os.ReadFile(filepath.Join(c.Dir, "agent.log")); rerr == nil {
			t.Logf("agent log:\n%s", tail(string(log), 4000))
		}
		t.Fatal(err)
	}
	if len(rep.Waves) != 2 || rep.Waves[0] != 11 || rep.Waves[1] != 10 {
		t.Errorf("waves %v, want [11 10]", rep.Waves)
	}
	if !rep.Converged {
		t.Errorf("%s, offline during the rollout, did not converge when it came back", rep.Offline)
	}
	if rep.KilledAt <= 0 || rep.Resent < 0 || rep.Resent >= rep.ModelBytes-rep.KilledAt {
		t.Errorf("the agent killed with %d of %d bytes staged was sent %d bytes again: want fewer than the %d it lacked (a resume, not a restart)",
			rep.KilledAt, rep.ModelBytes, rep.Resent, rep.ModelBytes-rep.KilledAt)
	}
	if !rep.Halted || rep.RolledBack != rep.CorruptWave1 || rep.CorruptWave1 != 11 || rep.Untouched != rep.CorruptOtherWave {
		t.Errorf("corrupt model: halted %v (%s), %d of %d of the first wave rolled back, %d of %d others untouched",
			rep.Halted, rep.HaltReason, rep.RolledBack, rep.CorruptWave1, rep.Untouched, rep.CorruptOtherWave)
	}
	if rep.AgentModel == "" || !strings.Contains(rep.AgentLastError, "failed its check") {
		t.Errorf("the real agent reports model %q, last_error %q: want the good model and why the corrupt one was rolled back", rep.AgentModel, rep.AgentLastError)
	}
}

func TestRolloutEmbeddedBroker(t *testing.T) { testRollout(t, "", "") }

func TestRolloutMosquitto(t *testing.T) {
	mq, pg := os.Getenv("CANOPY_TEST_MQTT"), os.Getenv("CANOPY_TEST_POSTGRES")
	if mq == "" || pg == "" {
		t.Skip("CANOPY_TEST_MQTT and CANOPY_TEST_POSTGRES are needed (make test sets them)")
	}
	testRollout(t, mq, pg)
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}

package servecmd

import (
	"flag"
	"os"

	"github.com/canopy-forest/canopy/cloud/config"
	"github.com/canopy-forest/canopy/internal/flagfile"
)

// brokerTLSFlags registers --mqtt-ca, --mqtt-cert and --mqtt-key on fs:
// the TLS files of the connection to an external broker. Every command
// that talks to a broker takes them; b.Config() makes the *tls.Config.
func brokerTLSFlags(fs *flag.FlagSet, b *config.BrokerTLS) {
	fs.StringVar(&b.CA, "mqtt-ca", b.CA, "PEM `file` of the CA that signs the external broker's certificate (default: the system's roots)")
	fs.StringVar(&b.Cert, "mqtt-cert", b.Cert, "PEM `file` of this client's certificate for the external broker (require_certificate, AWS IoT Core; canopy-cloud device add NAME --role receiver --cert)")
	fs.StringVar(&b.Key, "mqtt-key", b.Key, "PEM `file` of the key of --mqtt-cert")
}

// envPrefix is the prefix of the environment variables that set flags.
const envPrefix = "CANOPY_"

// securityEnv are the flags also read from the environment (CANOPY_MQTT_CA,
// CANOPY_HTTP_TLS_CERT, ...), where a flag or the config file does not set
// them: file paths that a container or a unit's Environment= gives.
var securityEnv = []string{"mqtt-ca", "mqtt-cert", "mqtt-key", "http-tls-cert", "http-tls-key"}

// readSecurityEnv sets those of securityEnv that fs has and the command
// line does not set from the environment. Call it after parsing and before
// the config file (flagfile.Load), so that the file does not override the
// environment.
func readSecurityEnv(fs *flag.FlagSet) error {
	return flagfile.EnvFor(fs, envPrefix, os.LookupEnv, securityEnv...)
}

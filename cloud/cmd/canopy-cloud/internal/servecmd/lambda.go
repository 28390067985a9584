package servecmd

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/canopy-forest/canopy/cloud/blob"
	"github.com/canopy-forest/canopy/cloud/config"
	"github.com/canopy-forest/canopy/cloud/count/auto"
	"github.com/canopy-forest/canopy/cloud/countfn"
	"github.com/canopy-forest/canopy/cloud/db"
	"github.com/canopy-forest/canopy/cloud/worker"
	"github.com/canopy-forest/canopy/internal/cli"
	"github.com/canopy-forest/canopy/internal/flagfile"
)

// lambdaEnvPrefix: every flag of `canopy-cloud lambda` can be set as
// CANOPY_<FLAG> (--database-url: CANOPY_DATABASE_URL), the way a Lambda
// function is configured.
const lambdaEnvPrefix = "CANOPY_"

// lambdaConfig configures canopy-cloud lambda.
type lambdaConfig struct {
	databaseURL                    string
	s3Endpoint, s3Region, s3Prefix string
	s3PathStyle                    bool
	method, model, ortLib          string
	threads, sweepMax              int
	gsdDefault                     float64
	sweepReserve                   time.Duration
	logLevel, event                string
}

func (c lambdaConfig) validate() error {
	var errs []error
	if !strings.HasPrefix(c.databaseURL, "postgres://") && !strings.HasPrefix(c.databaseURL, "postgresql://") {
		errs = append(errs, fmt.Errorf("--database-url ($%s): want the postgres://... URL of the receivers' database", flagfile.EnvName(lambdaEnvPrefix, "database-url")))
	}
	if err := (auto.Config{Method: c.method}).Validate(); err != nil {
		errs = append(errs, fmt.Errorf("--method: %w", err))
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, strings.ToLower(c.logLevel)) {
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.logLevel))
	}
	if c.gsdDefault <= 0 || c.gsdDefault > 100 {
		errs = append(errs, fmt.Errorf("--gsd-default %v: want metres per pixel in (0, 100]", c.gsdDefault))
	}
	if c.sweepMax <= 0 || c.sweepReserve <= 0 {
		errs = append(errs, errors.New("--sweep-max and --sweep-reserve must be positive"))
	}
	return errors.Join(errs...)
}

// Lambda is canopy-cloud lambda.
var Lambda = cli.Command{Name: "lambda", Summary: "the counting worker as an AWS Lambda function (S3 object-created events)", Run: cmdLambda}

func cmdLambda(args []string) error {
	var c lambdaConfig
	fs := flag.NewFlagSet("lambda", flag.ContinueOnError)
	cli.SetUsage(fs, fmt.Sprintf("usage: canopy-cloud lambda [flags]\n\nThe counting worker as an AWS Lambda function (the provided.al2023 runtime:\nthe binary, named bootstrap, runs this). Every flag can also be set as\n%sFLAG (--database-url: %s). Flags:", lambdaEnvPrefix, flagfile.EnvName(lambdaEnvPrefix, "database-url")))
	fs.StringVar(&c.databaseURL, "database-url", "", "postgres://... URL of the receivers' database (required)")
	fs.StringVar(&c.s3Endpoint, "s3-endpoint", "", "S3 API `URL` (default: AWS itself)")
	fs.StringVar(&c.s3Region, "s3-region", "", "S3 signing region (default $AWS_REGION)")
	fs.BoolVar(&c.s3PathStyle, "s3-path-style", false, "S3 path-style addressing (MinIO, versitygw)")
	fs.StringVar(&c.s3Prefix, "s3-bucket-prefix", "", "`prefix` of the bucket names, as given to serve (PREFIXraw, PREFIXprocessed)")
	fs.StringVar(&c.method, "method", auto.Auto, "counting method: auto, learned or classical")
	fs.StringVar(&c.model, "model", "", "ONNX crown detector (default: crown-detector.onnx beside the binary or in its models/)")
	fs.StringVar(&c.ortLib, "ort-lib", "", "ONNX Runtime library (default: $CANOPY_ORT_LIB, else libonnxruntime.so.1 on the library path: /opt/lib in a layer)")
	fs.IntVar(&c.threads, "threads", 0, "ONNX Runtime threads (default: its own)")
	fs.Float64Var(&c.gsdDefault, "gsd-default", config.DefaultServe().GSDDefault, "ground sample distance (`metres` per pixel) of images that carry none, as serve --gsd-default")
	fs.IntVar(&c.sweepMax, "sweep-max", 1000, "most jobs one scheduled sweep counts")
	fs.DurationVar(&c.sweepReserve, "sweep-reserve", time.Minute, "a sweep stops claiming jobs when less than this is left before the deadline")
	fs.StringVar(&c.logLevel, "log-level", "info", "debug, info, warn or error (JSON lines on stderr)")
	fs.StringVar(&c.event, "event", "", "handle the event payload in `FILE` once and print the response, without the Lambda runtime (for trying it out)")
	if help, err := cli.ParseArgs(fs, args); help || err != nil {
		return err
	}
	if err := flagfile.Env(fs, lambdaEnvPrefix, os.LookupEnv); err != nil {
		return err
	}
	if err := c.validate(); err != nil {
		return err
	}
	var payload []byte
	if c.event != "" {
		b, err := os.ReadFile(c.event)
		if err != nil {
			return fmt.Errorf("--event: %w", err)
		}
		payload = b
	} else if os.Getenv("AWS_LAMBDA_RUNTIME_API") == "" {
		return errors.New("not inside AWS Lambda ($AWS_LAMBDA_RUNTIME_API is unset); give --event FILE to handle one event here")
	}

	var level slog.Level
	_ = level.UnmarshalText([]byte(strings.ToUpper(c.logLevel)))
	log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// Cold start: the database, the store and the counter, for every
	// invocation this instance handles.
	openCtx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	d, err := db.Open(openCtx, c.databaseURL, log)
	if err != nil {
		return fmt.Errorf("open database: %w", err)
	}
	defer d.Close()
	blobs, err := blob.NewS3(openCtx, blob.S3Config{Endpoint: c.s3Endpoint, Region: c.s3Region, PathStyle: c.s3PathStyle, Prefix: c.s3Prefix})
	if err != nil {
		return fmt.Errorf("S3 blob store: %w", err)
	}
	counter, err := auto.New(auto.Config{Method: c.method, ModelPath: c.model, LibraryPath: c.ortLib, Threads: c.threads}, log)
	if err != nil {
		return fmt.Errorf("counter: %w", err)
	}
	defer counter.Close()
	info := counter.Info()
	others, done, err := recountCounters(blobs, auto.Config{LibraryPath: c.ortLib, Threads: c.threads}, log)
	if err != nil {
		return err
	}
	defer done()
	pool := worker.New(worker.Config{Name: "lambda", GSDDefault: c.gsdDefault, Counters: others}, d, blobs, counter, log)
	h := countfn.New(countfn.Config{RawBucket: blobs.Bucket(blob.Raw), SweepMax: c.sweepMax, SweepReserve: c.sweepReserve}, d, pool, log)
	log.Info("canopy-cloud lambda ready", "raw_bucket", blobs.Bucket(blob.Raw), "method", info.Method, "model", info.Model)

	if payload != nil {
		out, err := h.Invoke(ctx, payload)
		if out != nil {
			if eerr := cli.PrintJSON(os.Stdout, out); eerr != nil {
				return eerr
			}
		}
		return err
	}
	// Lambda sends SIGTERM before it freezes an instance for good (with an
	// extension registered); close the database connections then.
	lambda.StartWithOptions(h.Invoke, lambda.WithContext(ctx), lambda.WithEnableSIGTERM(func() { d.Close() }))
	return nil
}

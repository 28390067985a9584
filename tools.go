//go:build tools

// Package canopy pins the versions of the modules the project builds on, so
// that every area can import them without touching go.mod. Nothing here is
// compiled into a binary.
package canopy

import (
	_ "github.com/aws/aws-sdk-go-v2/config"
	_ "github.com/aws/aws-sdk-go-v2/credentials"
	_ "github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/chromedp/chromedp"
	_ "github.com/eclipse/paho.mqtt.golang"
	_ "github.com/jackc/pgx/v5"
	_ "github.com/mochi-mqtt/server/v2"
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/rabbitmq/amqp091-go"
	_ "github.com/rwcarlsen/goexif/exif"
	_ "github.com/yalue/onnxruntime_go"
	_ "go.etcd.io/bbolt"
	_ "gocv.io/x/gocv"
	_ "golang.org/x/image/tiff"
	_ "gopkg.in/yaml.v3"
	_ "modernc.org/sqlite"
)

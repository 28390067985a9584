// Package servecmd holds the commands of canopy-cloud that run the
// receiver's parts: serve (ingest from the broker, storage, counting
// workers and the HTTP API, until SIGINT or SIGTERM; SIGHUP reloads the
// HTTP certificate) and lambda (the counting worker as an AWS Lambda
// function).
package servecmd

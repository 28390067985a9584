package compat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/canopy-forest/canopy/cloud/ingest"
	amqp "github.com/rabbitmq/amqp091-go"
)

// DefaultQueue is the compat AMQP queue.
const DefaultQueue = "canopy.compat"

// AMQPConfig configures the compat AMQP input.
type AMQPConfig struct {
	URL      string // "amqp://user:pass@host:5672/vhost"
	Queue    string // "" means DefaultQueue
	Prefetch int    // unacknowledged messages held at once; 0 means 8
	Workers  int    // messages stored at once; 0 means 4 (at most Prefetch)
}

// DeadLetterQueue is the name of the queue that poison messages of queue go to.
func DeadLetterQueue(queue string) string { return queue + ".dead" }

// deadLetterExchange is the exchange that routes them there.
func deadLetterExchange(queue string) string { return queue + ".dlx" }

// AMQP consumes compat messages from a RabbitMQ queue.
type AMQP struct {
	cfg AMQPConfig
	h   *Handler
	log *slog.Logger
}

// NewAMQP prepares the input; Run connects and consumes.
func NewAMQP(c AMQPConfig, h *Handler, log *slog.Logger) (*AMQP, error) {
	if c.URL == "" {
		return nil, errors.New("compat amqp: no URL")
	}
	if c.Queue == "" {
		c.Queue = DefaultQueue
	}
	if c.Prefetch <= 0 {
		c.Prefetch = 8
	}
	if c.Workers <= 0 {
		c.Workers = 4
	}
	c.Workers = min(c.Workers, c.Prefetch)
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &AMQP{cfg: c, h: h, log: log.With("component", "compat_amqp", "queue", c.Queue)}, nil
}

// Declare declares the queue, its dead-letter exchange and dead-letter
// queue (all durable) on ch.
func Declare(ch *amqp.Channel, queue string) error {
	dlx, dlq := deadLetterExchange(queue), DeadLetterQueue(queue)
	if err := ch.ExchangeDeclare(dlx, "fanout", true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare exchange %s: %w", dlx, err)
	}
	if _, err := ch.QueueDeclare(dlq, true, false, false, false, nil); err != nil {
		return fmt.Errorf("declare queue %s: %w", dlq, err)
	}
	if err := ch.QueueBind(dlq, "", dlx, false, nil); err != nil {
		return fmt.Errorf("bind %s to %s: %w", dlq, dlx, err)
	}
	args := amqp.Table{"x-dead-letter-exchange": dlx}
	if _, err := ch.QueueDeclare(queue, true, false, false, false, args); err != nil {
		return fmt.Errorf("declare queue %s (with x-dead-letter-exchange %s; an existing queue declared without it must be deleted first): %w", queue, dlx, err)
	}
	return nil
}

// Run consumes until ctx ends, reconnecting with backoff (1 s to 30 s).
func (a *AMQP) Run(ctx context.Context) error {
	wait := time.Second
	for {
		err := a.consume(ctx)
		if ctx.Err() != nil {
			return nil
		}
		a.log.Warn("AMQP connection ended; reconnecting", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

func (a *AMQP) consume(ctx context.Context) error {
	conn, err := amqp.DialConfig(a.cfg.URL, amqp.Config{Properties: amqp.Table{"connection_name": "canopy-cloud compat"}})
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("channel: %w", err)
	}
	if err := Declare(ch, a.cfg.Queue); err != nil {
		return err
	}
	if err := ch.Qos(a.cfg.Prefetch, 0, false); err != nil {
		return fmt.Errorf("qos: %w", err)
	}
	deliveries, err := ch.Consume(a.cfg.Queue, "", false, false, false, false, nil)
	if err != nil {
		return fmt.Errorf("consume %s: %w", a.cfg.Queue, err)
	}
	a.log.Info("consuming compat messages", "workers", a.cfg.Workers)
	closed := conn.NotifyClose(make(chan *amqp.Error, 1))
	// Workers store messages at once (each one acked when stored); the
	// deliveries in hand are finished before returning.
	work := make(chan amqp.Delivery)
	var wg sync.WaitGroup
	for range a.cfg.Workers {
		wg.Go(func() {
			for d := range work {
				a.handle(ctx, d)
			}
		})
	}
	defer func() { close(work); wg.Wait() }()
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-closed:
			return fmt.Errorf("connection closed: %v", e)
		case d, ok := <-deliveries:
			if !ok {
				return errors.New("delivery channel closed")
			}
			select {
			case work <- d:
			case <-ctx.Done():
				_ = d.Nack(false, true) // sent again to whoever consumes next
				return nil
			}
		}
	}
}

// handle stores one delivery: ack once stored, reject without requeue (to
// the dead-letter queue) when poison, requeue when stopping before it is
// stored.
func (a *AMQP) handle(ctx context.Context, d amqp.Delivery) {
	err := retry(ctx, a.log, func() error {
		_, err := a.h.Handle(ctx, "amqp", d.Body)
		return err
	})
	if _, poison := ingest.IsReject(err); poison {
		if err := d.Reject(false); err != nil {
			a.log.Warn("reject poison message", "err", err)
		}
		return
	}
	if err != nil {
		if err := d.Nack(false, true); err != nil {
			a.log.Warn("requeue message", "err", err)
		}
		return
	}
	if err := d.Ack(false); err != nil {
		a.log.Warn("ack message (it will come again; storing is idempotent)", "err", err)
	}
}

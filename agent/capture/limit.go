package capture

import (
	"context"
	"time"
)

// limited caps the rate at which a source's frames are read.
type limited struct {
	Source
	every time.Duration
	last  time.Time
}

// Limit returns src reading at most fps frames a second: Next waits until
// 1/fps has passed since the previous frame was read. fps <= 0 returns src.
func Limit(src Source, fps float64) Source {
	if fps <= 0 {
		return src
	}
	return &limited{Source: src, every: time.Duration(float64(time.Second) / fps)}
}

func (l *limited) Next(ctx context.Context) (Frame, error) {
	if !l.last.IsZero() {
		if d := time.Until(l.last.Add(l.every)); d > 0 {
			if err := sleep(ctx, d); err != nil {
				return Frame{}, err
			}
		}
	}
	f, err := l.Source.Next(ctx)
	if err == nil {
		l.last = time.Now()
	}
	return f, err
}

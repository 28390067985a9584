//go:build !opencv

package capture

const videoSupported = false

func openVideo(kind string, o Options) (Source, error) { return nil, ErrNoOpenCV }

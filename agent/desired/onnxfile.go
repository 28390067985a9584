package desired

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
)

// ErrNotONNX: a model file that is not a whole ONNX ModelProto.
var ErrNotONNX = errors.New("not an ONNX model")

// CheckONNXFile checks, without loading it, that the file at path is a
// whole ONNX model: a protocol buffer of well-formed top-level fields that
// ends where the file ends and holds an IR version and a graph. A file cut
// short or not ONNX at all fails; it does not prove that the graph runs
// (the agent's check runs it on a frame). It reads the file once, in
// small pieces.
func CheckONNXFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 32<<10)
	var ir, graph bool
	for n := 0; ; n++ {
		key, err := binary.ReadUvarint(r)
		if errors.Is(err, io.EOF) && n > 0 {
			break
		}
		if err != nil {
			return fmt.Errorf("%w: field %d: %v", ErrNotONNX, n, err)
		}
		field, typ := key>>3, key&7
		if field == 0 {
			return fmt.Errorf("%w: field number 0", ErrNotONNX)
		}
		switch typ {
		case 0: // varint
			if _, err := binary.ReadUvarint(r); err != nil {
				return fmt.Errorf("%w: field %d: %v", ErrNotONNX, field, err)
			}
			ir = ir || field == 1
		case 1, 5: // fixed64, fixed32
			if err := skip(r, map[uint64]int64{1: 8, 5: 4}[typ]); err != nil {
				return fmt.Errorf("%w: field %d: %v", ErrNotONNX, field, err)
			}
		case 2: // length-delimited
			l, err := binary.ReadUvarint(r)
			if err != nil || l > 1<<40 {
				return fmt.Errorf("%w: field %d: bad length", ErrNotONNX, field)
			}
			if err := skip(r, int64(l)); err != nil {
				return fmt.Errorf("%w: field %d of %d bytes runs past the end of the file", ErrNotONNX, field, l)
			}
			graph = graph || field == 7
		default:
			return fmt.Errorf("%w: field %d has wire type %d", ErrNotONNX, field, typ)
		}
	}
	if !ir || !graph {
		return fmt.Errorf("%w: no IR version or no graph", ErrNotONNX)
	}
	return nil
}

func skip(r *bufio.Reader, n int64) error {
	for n > 0 {
		k := int(min(n, 1<<20))
		d, err := r.Discard(k)
		n -= int64(d)
		if err != nil {
			return err
		}
	}
	return nil
}

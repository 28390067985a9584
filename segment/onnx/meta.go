//go:build onnx

package onnx

import (
	"fmt"

	ort "github.com/yalue/onnxruntime_go"
)

// readMeta returns the model's custom metadata map.
func readMeta(data []byte) (map[string]string, error) {
	md, err := ort.GetModelMetadataWithONNXData(data)
	if err != nil {
		return nil, fmt.Errorf("read metadata: %w", err)
	}
	defer md.Destroy()
	keys, err := md.GetCustomMetadataMapKeys()
	if err != nil {
		return nil, fmt.Errorf("read metadata keys: %w", err)
	}
	m := make(map[string]string, len(keys))
	for _, k := range keys {
		v, ok, err := md.LookupCustomMetadataMap(k)
		if err != nil {
			return nil, fmt.Errorf("read metadata %q: %w", k, err)
		}
		if ok {
			m[k] = v
		}
	}
	return m, nil
}

func infos(in []ort.InputOutputInfo) []tensorInfo {
	t := make([]tensorInfo, len(in))
	for i, v := range in {
		t[i] = tensorInfo{
			Name:    v.Name,
			Tensor:  v.OrtValueType == ort.ONNXTypeTensor,
			Type:    v.DataType.String(),
			Float32: v.DataType == ort.TensorElementDataTypeFloat,
			Dims:    []int64(v.Dimensions),
		}
		if !t[i].Tensor {
			t[i].Type = v.OrtValueType.String()
		}
	}
	return t
}

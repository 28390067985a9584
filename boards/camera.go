package boards

import (
	_ "embed"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

//go:embed cameras.yaml
var camerasFile []byte

// CameraModel is a camera known by name, with what the ground sample
// distance needs of it.
type CameraModel struct {
	Name        string `yaml:"name" json:"name"`
	Description string `yaml:"description" json:"description"`
	// SensorWidthMM is the width of the sensor area that makes the frame,
	// FocalLengthMM the lens's focal length, both in millimetres.
	SensorWidthMM float64 `yaml:"sensor_width_mm" json:"sensor_width_mm"`
	FocalLengthMM float64 `yaml:"focal_length_mm" json:"focal_length_mm"`
}

// Cameras returns the cameras known by name (cameras.yaml).
func Cameras() ([]CameraModel, error) {
	var cs []CameraModel
	dec := yaml.NewDecoder(strings.NewReader(string(camerasFile)))
	dec.KnownFields(true)
	if err := dec.Decode(&cs); err != nil {
		return nil, fmt.Errorf("decode cameras.yaml: %w", err)
	}
	for _, c := range cs {
		if !validName.MatchString(c.Name) || !(c.SensorWidthMM > 0 && c.SensorWidthMM < 100) || !(c.FocalLengthMM > 0 && c.FocalLengthMM < 2000) {
			return nil, fmt.Errorf("cameras.yaml: camera %q: want a name and a sensor width and focal length in millimetres", c.Name)
		}
	}
	return cs, nil
}

// LookupCamera returns the camera called name.
func LookupCamera(name string) (CameraModel, error) {
	cs, err := Cameras()
	if err != nil {
		return CameraModel{}, err
	}
	var names []string
	for _, c := range cs {
		if c.Name == name {
			return c, nil
		}
		names = append(names, c.Name)
	}
	return CameraModel{}, fmt.Errorf("unknown camera %q (known: %s)", name, strings.Join(names, ", "))
}

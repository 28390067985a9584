package count_test

import (
	"fmt"
	"strings"

	"github.com/canopy-forest/canopy/cloud/count"
)

func ExampleNMS() {
	boxes := []count.Box{
		{XMin: 0, YMin: 0, XMax: 10, YMax: 10, Score: 0.6},
		{XMin: 1, YMin: 1, XMax: 11, YMax: 11, Score: 0.9}, // the same crown, higher score
		{XMin: 30, YMin: 30, XMax: 40, YMax: 40, Score: 0.5},
	}
	for _, b := range count.NMS(boxes, 0.5) {
		fmt.Println(b.XMin, b.Score)
	}
	// Output:
	// 1 0.9
	// 30 0.5
}

func ExampleScoreImage() {
	truth, _ := count.ReadBoxes(strings.NewReader("image,xmin,ymin,xmax,ymax,label\n" +
		"a.png,0,0,10,10,Tree\na.png,20,0,30,10,Dead\n"))
	found := []count.Box{{XMin: 1, YMin: 0, XMax: 11, YMax: 10, Score: 0.8}}
	s := count.ScoreImage("a.png", found, truth["a.png"], count.DefaultIoU)
	fmt.Printf("true %d found %d error %+d precision %.2f recall %.2f F1 %.2f\n",
		s.True, s.Predicted, s.CountError, s.Precision, s.Recall, s.F1)
	// Output: true 2 found 1 error -1 precision 1.00 recall 0.50 F1 0.67
}

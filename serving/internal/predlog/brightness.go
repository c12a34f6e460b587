package predlog

import (
	"bytes"
	"image"
	"image/color"
	_ "image/gif"  // registers GIF for image.Decode
	_ "image/jpeg" // registers JPEG
	_ "image/png"  // registers PNG

	_ "golang.org/x/image/bmp" // registers BMP
)

// brightness decodes an image and returns its mean luma,
// (0.299 R + 0.587 G + 0.114 B) / 255 over every pixel, in [0, 1]: a cheap
// signal of lighting drift. False when the image does not decode. It
// decodes fully, so it runs on the encoder goroutine, never on a request.
func brightness(b []byte) (v float64, ok bool) {
	defer func() {
		if recover() != nil { // a decoder bug must not take the predictor down
			v, ok = 0, false
		}
	}()
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil || img.Bounds().Empty() {
		return 0, false
	}
	return meanLuma(img), true
}

// meanLuma reads the pixel formats the decoders return directly and
// anything else through color models. Per pixel it sums
// 299 R + 587 G + 114 B of 8-bit values, exactly, in integers.
func meanLuma(img image.Image) float64 {
	r := img.Bounds()
	var sum uint64
	switch m := img.(type) {
	case *image.YCbCr: // JPEG
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				cr, cg, cb := color.YCbCrToRGB(m.Y[m.YOffset(x, y)], m.Cb[m.COffset(x, y)], m.Cr[m.COffset(x, y)])
				sum += luma(cr, cg, cb)
			}
		}
	case *image.Gray: // grayscale JPEG and PNG
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for _, g := range m.Pix[m.PixOffset(r.Min.X, y):m.PixOffset(r.Max.X, y)] {
				sum += 1000 * uint64(g)
			}
		}
	case *image.RGBA: // opaque PNG, BMP
		sum = sumRGB(m.Pix, r, m.PixOffset)
	case *image.NRGBA: // PNG with alpha: the colour, whatever its opacity
		sum = sumRGB(m.Pix, r, m.PixOffset)
	default: // paletted GIF and PNG, 16-bit PNG, CMYK JPEG
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
				sum += luma(c.R, c.G, c.B)
			}
		}
	}
	return float64(sum) / (1000 * 255 * float64(r.Dx()) * float64(r.Dy()))
}

// sumRGB sums the luma of 4-byte R, G, B, A pixels.
func sumRGB(pix []byte, r image.Rectangle, offset func(x, y int) int) uint64 {
	var sum uint64
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := pix[offset(r.Min.X, y):offset(r.Max.X, y)]
		for i := 0; i+3 < len(row); i += 4 {
			sum += luma(row[i], row[i+1], row[i+2])
		}
	}
	return sum
}

// luma is 1000 times the luma of an 8-bit colour.
func luma(r, g, b uint8) uint64 { return 299*uint64(r) + 587*uint64(g) + 114*uint64(b) }

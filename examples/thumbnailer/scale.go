package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
)

// decodeBounded decodes a PNG or JPEG from r, reading at most maxBytes,
// and refuses images of more than maxPixels before decoding their pixels.
// The header bytes DecodeConfig reads are replayed to Decode, so r is
// read once, as a stream.
func decodeBounded(r io.Reader, maxBytes int64, maxPixels int) (image.Image, string, error) {
	lr := &io.LimitedReader{R: r, N: maxBytes + 1}
	var head bytes.Buffer
	cfg, format, err := image.DecodeConfig(io.TeeReader(lr, &head))
	if err != nil {
		return nil, "", err
	}
	if format != "png" && format != "jpeg" {
		return nil, "", fmt.Errorf("format %s", format)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > maxPixels/cfg.Height {
		return nil, "", fmt.Errorf("%dx%d pixels is more than %d", cfg.Width, cfg.Height, maxPixels)
	}
	img, _, err := image.Decode(io.MultiReader(&head, lr))
	if err != nil {
		return nil, "", err
	}
	if lr.N <= 0 {
		return nil, "", fmt.Errorf("larger than %d bytes", maxBytes)
	}
	return img, format, nil
}

// fit scales src down (never up) to fit in a maxSide square, keeping its
// aspect ratio, by averaging each destination pixel's box of source
// pixels.
func fit(src image.Image, maxSide int) image.Image {
	b := src.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= maxSide && h <= maxSide {
		return src
	}
	dw, dh := maxSide, maxSide
	if w >= h {
		dh = max(1, h*maxSide/w)
	} else {
		dw = max(1, w*maxSide/h)
	}
	dst := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := range dh {
		y0, y1 := b.Min.Y+y*h/dh, b.Min.Y+max((y+1)*h/dh, y*h/dh+1)
		for x := range dw {
			x0, x1 := b.Min.X+x*w/dw, b.Min.X+max((x+1)*w/dw, x*w/dw+1)
			var r, g, bl, a, n uint64
			for sy := y0; sy < y1; sy++ {
				for sx := x0; sx < x1; sx++ {
					cr, cg, cb, ca := src.At(sx, sy).RGBA()
					r, g, bl, a, n = r+uint64(cr), g+uint64(cg), bl+uint64(cb), a+uint64(ca), n+1
				}
			}
			dst.Set(x, y, color.RGBA64{uint16(r / n), uint16(g / n), uint16(bl / n), uint16(a / n)})
		}
	}
	return dst
}

// encode writes img in format ("png" or "jpeg") and returns its content
// type.
func encode(w io.Writer, img image.Image, format string) (string, error) {
	if format == "jpeg" {
		return "image/jpeg", jpeg.Encode(w, img, &jpeg.Options{Quality: 85})
	}
	return "image/png", png.Encode(w, img)
}

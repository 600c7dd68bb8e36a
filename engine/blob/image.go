package blob

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/webp"

	"github.com/guildhall/guildhall/engine"
)

// Image limits. A still image is decoded whole to prove it is intact,
// which takes up to 8 bytes a pixel (16-bit PNG), so MaxImagePixels bounds
// the memory one check needs.
const (
	MaxImageSide   = 8000       // pixels, either side
	MaxImagePixels = 40_000_000 // width × height
	// MaxAnimationPixels bounds the sum of the areas of a GIF's frames,
	// which are all decoded (1 byte a pixel).
	MaxAnimationPixels = 100_000_000
)

// Image is an uploaded image that passed CheckImage.
type Image struct {
	ContentType string // image/png, image/jpeg, image/gif or image/webp
	Ext         string // png, jpg, gif or webp: for the key
	// Width and Height are as displayed: for a JPEG, after its EXIF
	// orientation.
	Width, Height int
	// Data is the file to store: the upload without its metadata.
	Data []byte
}

// CheckImage reads an uploaded image of at most max bytes and returns it
// ready to store, or a CodeInvalid *engine.Error with one field, "image",
// saying what is wrong.
//
// The type comes from the content, never from the client: only PNG, JPEG,
// GIF and WebP are accepted (SVG, which can carry script, never is). The
// image must be at most MaxImageSide pixels a side and MaxImagePixels in
// all, and must decode without error: a still image is decoded whole, a
// GIF every frame; an animated WebP, which no Go decoder reads, and the
// frames of an animated PNG after the first are checked by their
// container structure alone.
//
// Metadata is removed without re-encoding, so pixels, quality, colour
// profile and animation survive while location and camera data do not:
//
//   - JPEG keeps its image segments, the JFIF header, ICC profile and
//     Adobe colour transform; EXIF, XMP, IPTC, comments and other
//     application segments go. A non-default EXIF orientation is kept, in
//     a new EXIF segment holding only that tag, so photos stay upright.
//   - PNG keeps image data and colour and animation chunks (APNG); text,
//     EXIF, time and unknown ancillary chunks go.
//   - GIF keeps frames, their timing and the loop count; comments and
//     other application extensions (XMP) go.
//   - WebP keeps image, alpha, animation and ICC chunks; EXIF and XMP go.
//
// Bytes after the end of the image (appended archives or scripts) go too.
//
// Decoding takes memory: up to 8 bytes a pixel for a 16-bit PNG, so about
// 320 MB for an image at MaxImagePixels, and 1 byte a pixel of every frame
// of a GIF. Callers bound how many checks run at once (the upload handler,
// with a semaphore). Errors other than *engine.Error come from reading r.
func CheckImage(r io.Reader, max int64) (Image, error) {
	if max <= 0 {
		return Image{}, fmt.Errorf("check image: max %d must be positive", max)
	}
	data, err := io.ReadAll(io.LimitReader(r, max+1))
	if err != nil {
		return Image{}, fmt.Errorf("read image: %w", err)
	}
	if int64(len(data)) > max {
		return Image{}, invalidImage("The image is larger than "+formatSize(max)+".", nil)
	}
	if len(data) == 0 {
		return Image{}, invalidImage("The image is empty.", nil)
	}
	switch {
	case bytes.HasPrefix(data, []byte(pngSignature)):
		return checkPNG(data)
	case bytes.HasPrefix(data, []byte{0xff, 0xd8, 0xff}):
		return checkJPEG(data)
	case bytes.HasPrefix(data, []byte("GIF87a")) || bytes.HasPrefix(data, []byte("GIF89a")):
		return checkGIF(data)
	case len(data) >= 12 && string(data[:4]) == "RIFF" && string(data[8:12]) == "WEBP":
		return checkWebP(data)
	}
	return Image{}, invalidImage("The image must be a PNG, JPEG, GIF or WebP file.", nil)
}

const msgDamaged = "The image file is damaged or uses a variant that is not supported."

func invalidImage(msg string, cause error) error {
	return &engine.Error{Code: engine.CodeInvalid, Message: msg,
		Fields: []engine.FieldError{{Field: "image", Message: msg}}, Err: cause}
}

// checkSize refuses a configuration beyond the limits, before anything
// is decoded.
func checkSize(c image.Config) error {
	switch {
	case c.Width <= 0 || c.Height <= 0:
		return invalidImage(msgDamaged, errors.New("no pixels"))
	case c.Width > MaxImageSide || c.Height > MaxImageSide:
		return invalidImage(fmt.Sprintf("The image is wider or taller than %d pixels.", MaxImageSide), nil)
	case int64(c.Width)*int64(c.Height) > MaxImagePixels:
		return invalidImage(fmt.Sprintf("The image has more than %d megapixels.", MaxImagePixels/1_000_000), nil)
	}
	return nil
}

func checkPNG(data []byte) (Image, error) {
	out, err := stripPNG(data)
	if err != nil {
		return Image{}, invalidImage(msgDamaged, err)
	}
	c, err := png.DecodeConfig(bytes.NewReader(out))
	if err != nil {
		return Image{}, invalidImage(msgDamaged, err)
	}
	if err := checkSize(c); err != nil {
		return Image{}, err
	}
	if _, err := png.Decode(bytes.NewReader(out)); err != nil {
		return Image{}, invalidImage(msgDamaged, err)
	}
	return Image{ContentType: "image/png", Ext: "png", Width: c.Width, Height: c.Height, Data: out}, nil
}

func checkJPEG(data []byte) (Image, error) {
	out, orientation, err := stripJPEG(data)
	if err != nil {
		return Image{}, invalidImage(msgDamaged, err)
	}
	c, err := jpeg.DecodeConfig(bytes.NewReader(out))
	if err != nil {
		return Image{}, invalidImage(msgDamaged, err)
	}
	if err := checkSize(c); err != nil {
		return Image{}, err
	}
	if _, err := jpeg.Decode(bytes.NewReader(out)); err != nil {
		return Image{}, invalidImage(msgDamaged, err)
	}
	w, h := c.Width, c.Height
	if orientation >= 5 { // 5 to 8 turn the image a quarter
		w, h = h, w
	}
	return Image{ContentType: "image/jpeg", Ext: "jpg", Width: w, Height: h, Data: out}, nil
}

func checkGIF(data []byte) (Image, error) {
	out, area, err := stripGIF(data)
	if err != nil {
		return Image{}, invalidImage(msgDamaged, err)
	}
	c, err := gif.DecodeConfig(bytes.NewReader(out))
	if err != nil {
		return Image{}, invalidImage(msgDamaged, err)
	}
	if err := checkSize(c); err != nil {
		return Image{}, err
	}
	if area > MaxAnimationPixels {
		return Image{}, invalidImage(fmt.Sprintf("The animation has more than %d megapixels in all its frames.", MaxAnimationPixels/1_000_000), nil)
	}
	if _, err := gif.DecodeAll(bytes.NewReader(out)); err != nil {
		return Image{}, invalidImage(msgDamaged, err)
	}
	return Image{ContentType: "image/gif", Ext: "gif", Width: c.Width, Height: c.Height, Data: out}, nil
}

func checkWebP(data []byte) (Image, error) {
	out, animated, err := stripWebP(data)
	if err != nil {
		return Image{}, invalidImage(msgDamaged, err)
	}
	c, err := webp.DecodeConfig(bytes.NewReader(out))
	if err != nil {
		return Image{}, invalidImage(msgDamaged, err)
	}
	if err := checkSize(c); err != nil {
		return Image{}, err
	}
	if !animated {
		if _, err := webp.Decode(bytes.NewReader(out)); err != nil {
			return Image{}, invalidImage(msgDamaged, err)
		}
	}
	return Image{ContentType: "image/webp", Ext: "webp", Width: c.Width, Height: c.Height, Data: out}, nil
}

// formatSize renders a byte count for people: "10 MiB", "1.5 MiB", "512 KiB".
func formatSize(n int64) string {
	const kib, mib = 1 << 10, 1 << 20
	switch {
	case n >= mib && n%mib == 0:
		return fmt.Sprintf("%d MiB", n/mib)
	case n >= mib:
		return fmt.Sprintf("%.1f MiB", float64(n)/mib)
	case n >= kib && n%kib == 0:
		return fmt.Sprintf("%d KiB", n/kib)
	case n == 1:
		return "1 byte"
	}
	return fmt.Sprintf("%d bytes", n)
}

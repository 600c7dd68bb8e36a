package blob

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/image/webp"

	"github.com/guildhall/guildhall/engine"
)

// WebP fixtures: 1×1 images in each WebP flavour (the ones Modernizr uses
// to detect browser support). Go has no WebP encoder.
var (
	webpLossless = mustBase64("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")
	webpLossy    = mustBase64("UklGRiIAAABXRUJQVlA4IBYAAAAwAQCdASoBAAEADsD+JaQAA3AAAAAA")
	webpAlpha    = mustBase64("UklGRkoAAABXRUJQVlA4WAoAAAAQAAAAAAAAAAAAQUxQSAwAAAARBxAR/Q9ERP8DAABWUDggGAAAABQBAJ0BKgEAAQAAAP4AAA3AAP7mtQAAAA==")
	webpAnimated = mustBase64("UklGRlIAAABXRUJQVlA4WAoAAAASAAAAAAAAAAAAQU5JTQYAAAD/////AABBTk1GJgAAAAAAAAAAAAAAAAAAAGQAAABWUDhMDQAAAC8AAAAQBxAREYiI/gcA")
)

// secretMarker is planted in metadata; it must not survive CheckImage.
const secretMarker = "GPS-48.8584N-2.2945E-SECRET"

func mustBase64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// testPicture is a w×h gradient, so every pixel differs a little.
func testPicture(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.Set(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), 128, 255})
		}
	}
	return m
}

func pngFile(t testing.TB, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, testPicture(w, h)); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func jpegFile(t testing.TB, w, h int) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, testPicture(w, h), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// gifFile is a looping animation of frames frames, 10/100 s each.
func gifFile(t testing.TB, w, h, frames int) []byte {
	t.Helper()
	g := &gif.GIF{LoopCount: 0}
	for i := range frames {
		m := image.NewPaletted(image.Rect(0, 0, w, h), palette.Plan9)
		for p := range m.Pix {
			m.Pix[p] = uint8(p + i*40)
		}
		g.Image = append(g.Image, m)
		g.Delay = append(g.Delay, 10)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// pngChunk builds a PNG chunk with its checksum.
func pngChunk(typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// withPNGChunks inserts chunks after IHDR.
func withPNGChunks(p []byte, chunks ...[]byte) []byte {
	at := 8 + 25 // signature, IHDR
	out := append([]byte{}, p[:at]...)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return append(out, p[at:]...)
}

// jpegSegment builds a JPEG marker segment.
func jpegSegment(marker byte, payload []byte) []byte {
	s := []byte{0xff, marker}
	s = binary.BigEndian.AppendUint16(s, uint16(len(payload)+2))
	return append(s, payload...)
}

// withJPEGSegments inserts segments after SOI.
func withJPEGSegments(j []byte, segs ...[]byte) []byte {
	out := append([]byte{}, j[:2]...)
	for _, s := range segs {
		out = append(out, s...)
	}
	return append(out, j[2:]...)
}

// exifPayload is an APP1 EXIF payload (little-endian TIFF) holding an
// ImageDescription carrying secretMarker and, unless 0, an Orientation.
func exifPayload(orientation int) []byte {
	desc := secretMarker + "\x00"
	n := 1
	if orientation != 0 {
		n = 2
	}
	le := binary.LittleEndian
	b := []byte("Exif\x00\x00II*\x00\x08\x00\x00\x00")
	b = le.AppendUint16(b, uint16(n))
	dataOff := 8 + 2 + 12*n + 4
	b = le.AppendUint16(b, 0x010e) // ImageDescription, ASCII
	b = le.AppendUint16(b, 2)
	b = le.AppendUint32(b, uint32(len(desc)))
	b = le.AppendUint32(b, uint32(dataOff))
	if orientation != 0 {
		b = le.AppendUint16(b, 0x0112) // Orientation, SHORT
		b = le.AppendUint16(b, 3)
		b = le.AppendUint32(b, 1)
		b = le.AppendUint16(b, uint16(orientation))
		b = le.AppendUint16(b, 0)
	}
	b = le.AppendUint32(b, 0)
	return append(b, desc...)
}

// withGIFExtensions inserts extensions before the trailer.
func withGIFExtensions(g []byte, exts ...[]byte) []byte {
	out := append([]byte{}, g[:len(g)-1]...)
	for _, e := range exts {
		out = append(out, e...)
	}
	return append(out, 0x3b)
}

// gifExtension builds an extension with data in one sub-block.
func gifExtension(label byte, blocks ...string) []byte {
	e := []byte{0x21, label}
	for _, b := range blocks {
		e = append(e, byte(len(b)))
		e = append(e, b...)
	}
	return append(e, 0)
}

// withWebPChunks appends chunks to a VP8X WebP, sets the flags given and
// fixes the RIFF size.
func withWebPChunks(w []byte, flags byte, chunks ...[]byte) []byte {
	out := append([]byte{}, w...)
	for _, c := range chunks {
		out = append(out, c...)
	}
	out[20] |= flags
	binary.LittleEndian.PutUint32(out[4:], uint32(len(out)-8))
	return out
}

func webpChunk(typ string, data []byte) []byte {
	c := append([]byte(typ), binary.LittleEndian.AppendUint32(nil, uint32(len(data)))...)
	c = append(c, data...)
	if len(data)%2 == 1 {
		c = append(c, 0)
	}
	return c
}

// mustCheckImage runs CheckImage, failing the test on an error.
func mustCheckImage(t testing.TB, data []byte) Image {
	t.Helper()
	img, err := CheckImage(bytes.NewReader(data), 10<<20)
	if err != nil {
		t.Fatalf("CheckImage() error = %v", err)
	}
	return img
}

// samePixels fails unless a and b decode to the same pixels.
func samePixels(t testing.TB, decode func(io.Reader) (image.Image, error), a, b []byte) {
	t.Helper()
	ma, err := decode(bytes.NewReader(a))
	if err != nil {
		t.Fatalf("decode original: %v", err)
	}
	mb, err := decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("decode checked: %v", err)
	}
	if ma.Bounds() != mb.Bounds() {
		t.Fatalf("bounds %v, want %v", mb.Bounds(), ma.Bounds())
	}
	for y := ma.Bounds().Min.Y; y < ma.Bounds().Max.Y; y++ {
		for x := ma.Bounds().Min.X; x < ma.Bounds().Max.X; x++ {
			if ma.At(x, y) != mb.At(x, y) {
				t.Fatalf("pixel (%d,%d) = %v, want %v", x, y, mb.At(x, y), ma.At(x, y))
			}
		}
	}
}

func TestCheckImage_Accepts(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name       string
		data       []byte
		wantType   string
		wantExt    string
		wantW      int
		wantH      int
		decode     func(io.Reader) (image.Image, error)
		sameAsData bool // nothing to strip: Data is the input
	}{
		{"PNG", pngFile(t, 30, 20), "image/png", "png", 30, 20, png.Decode, true},
		{"JPEG", jpegFile(t, 30, 20), "image/jpeg", "jpg", 30, 20, jpeg.Decode, true},
		{"GIF", gifFile(t, 12, 8, 3), "image/gif", "gif", 12, 8, gif.Decode, true},
		{"WebPLossless", webpLossless, "image/webp", "webp", 1, 1, webp.Decode, true},
		{"WebPLossy", webpLossy, "image/webp", "webp", 1, 1, webp.Decode, true},
		{"WebPAlpha", webpAlpha, "image/webp", "webp", 1, 1, webp.Decode, true},
		{"WebPAnimated", webpAnimated, "image/webp", "webp", 1, 1, nil, true},
		{"AtMaxSide", pngFile(t, MaxImageSide, 1), "image/png", "png", MaxImageSide, 1, png.Decode, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			img := mustCheckImage(t, tt.data)
			got := []any{img.ContentType, img.Ext, img.Width, img.Height}
			want := []any{tt.wantType, tt.wantExt, tt.wantW, tt.wantH}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("CheckImage() type, ext, width, height (-want +got):\n%s", diff)
			}
			if tt.sameAsData && !bytes.Equal(img.Data, tt.data) {
				t.Errorf("Data differs from a file without metadata (%d bytes, want %d)", len(img.Data), len(tt.data))
			}
			if tt.decode != nil {
				samePixels(t, tt.decode, tt.data, img.Data)
			}
		})
	}
}

func TestCheckImage_StripsJPEGMetadata(t *testing.T) {
	t.Parallel()
	plain := jpegFile(t, 30, 20)
	icc := jpegSegment(jpegAPP2, []byte("ICC_PROFILE\x00\x01\x01fake profile"))
	adobe := jpegSegment(jpegAPPE, []byte("Adobe\x00\x64\x00\x00\x00\x00\x01"))

	tests := []struct {
		name         string
		orientation  int
		wantW, wantH int
	}{
		{"NoOrientation", 0, 30, 20},
		{"Upright", 1, 30, 20},
		{"Upside", 3, 30, 20},
		{"TurnedRight", 6, 20, 30},
		{"TurnedLeft", 8, 20, 30},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := withJPEGSegments(plain,
				jpegSegment(jpegAPP0, []byte("JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")),
				jpegSegment(jpegAPP1, exifPayload(tt.orientation)),
				jpegSegment(jpegAPP1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>"+secretMarker+"</x:xmpmeta>")),
				jpegSegment(0xed, []byte("Photoshop 3.0\x00"+secretMarker)), // APP13: IPTC
				jpegSegment(jpegCOM, []byte(secretMarker)),
				jpegSegment(jpegAPP2, []byte("MPF\x00"+secretMarker)),
				icc, adobe,
			)
			data = append(data, []byte("<html>"+secretMarker)...) // after EOI
			img := mustCheckImage(t, data)
			if bytes.Contains(img.Data, []byte(secretMarker)) || bytes.Contains(img.Data, []byte("<html>")) {
				t.Errorf("metadata survived: %q", img.Data)
			}
			for _, keep := range [][]byte{icc, adobe, []byte("JFIF\x00")} {
				if !bytes.Contains(img.Data, keep) {
					t.Errorf("Data lost %q", keep)
				}
			}
			hasOrientation := bytes.Contains(img.Data, orientationSegment(max(tt.orientation, 1)))
			if want := tt.orientation > 1; hasOrientation != want {
				t.Errorf("orientation segment present = %v, want %v", hasOrientation, want)
			}
			if bytes.Count(img.Data, []byte("Exif\x00\x00")) > 1 {
				t.Error("more than one EXIF segment")
			}
			if img.Width != tt.wantW || img.Height != tt.wantH {
				t.Errorf("size = %d×%d, want %d×%d", img.Width, img.Height, tt.wantW, tt.wantH)
			}
			samePixels(t, jpeg.Decode, plain, img.Data)
			if tt.orientation > 1 {
				if got := exifOrientation(orientationSegment(tt.orientation)[10:]); got != tt.orientation {
					t.Errorf("orientation segment reads back as %d, want %d", got, tt.orientation)
				}
			}
		})
	}
}

func TestCheckImage_StripsPNGMetadata(t *testing.T) {
	t.Parallel()
	plain := pngFile(t, 30, 20)
	gama := pngChunk("gAMA", []byte{0, 0, 0xb1, 0x8f})
	data := withPNGChunks(plain,
		pngChunk("tEXt", []byte("Comment\x00"+secretMarker)),
		pngChunk("iTXt", []byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00"+secretMarker)),
		pngChunk("eXIf", exifPayload(6)[6:]),
		pngChunk("tIME", []byte{0x07, 0xea, 11, 22, 12, 0, 0}),
		pngChunk("prVt", []byte(secretMarker)), // unknown ancillary
		gama,
	)
	data = append(data, "<script>alert(1)</script>"...) // after IEND
	img := mustCheckImage(t, data)
	for _, gone := range []string{secretMarker, "eXIf", "tIME", "<script>"} {
		if bytes.Contains(img.Data, []byte(gone)) {
			t.Errorf("%q survived", gone)
		}
	}
	if !bytes.Contains(img.Data, gama) {
		t.Error("gAMA chunk lost")
	}
	samePixels(t, png.Decode, plain, img.Data)
}

func TestCheckImage_KeepsGIFAnimation(t *testing.T) {
	t.Parallel()
	plain := gifFile(t, 12, 8, 3)
	data := withGIFExtensions(plain,
		gifExtension(0xfe, secretMarker), // comment
		gifExtension(0xff, "XMP DataXMP", "<x:xmpmeta>"+secretMarker),
	)
	data = append(data, "PK\x03\x04 appended archive"...)
	img := mustCheckImage(t, data)
	if bytes.Contains(img.Data, []byte(secretMarker)) || bytes.Contains(img.Data, []byte("PK\x03\x04")) {
		t.Errorf("metadata or appended data survived: %q", img.Data)
	}
	if !bytes.Equal(img.Data, plain) {
		t.Errorf("Data differs from the GIF without metadata")
	}
	g, err := gif.DecodeAll(bytes.NewReader(img.Data))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Image) != 3 || g.LoopCount != 0 || !cmp.Equal(g.Delay, []int{10, 10, 10}) {
		t.Errorf("animation = %d frames, loop %d, delays %v; want 3, 0, [10 10 10]", len(g.Image), g.LoopCount, g.Delay)
	}
}

func TestCheckImage_StripsWebPMetadata(t *testing.T) {
	t.Parallel()
	const exifFlag, xmpFlag = 0x08, 0x04
	for name, w := range map[string][]byte{"Still": webpAlpha, "Animated": webpAnimated} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			data := withWebPChunks(w, exifFlag|xmpFlag,
				webpChunk("EXIF", exifPayload(6)[6:]),
				webpChunk("XMP ", []byte("<x:xmpmeta>"+secretMarker+"</x:xmpmeta>")),
			)
			data = append(data, "<html>"...) // after the RIFF
			img := mustCheckImage(t, data)
			if bytes.Contains(img.Data, []byte(secretMarker)) || bytes.Contains(img.Data, []byte("EXIF")) || bytes.Contains(img.Data, []byte("<html>")) {
				t.Errorf("metadata survived: %q", img.Data)
			}
			if !bytes.Equal(img.Data, w) {
				t.Errorf("Data = %q, want the original file %q", img.Data, w)
			}
		})
	}
}

func TestCheckImage_Refuses(t *testing.T) {
	t.Parallel()
	jpg := jpegFile(t, 30, 20)
	png1 := pngFile(t, 30, 20)
	gif1 := gifFile(t, 12, 8, 2)
	badCRC := append([]byte{}, png1...)
	badCRC[len(pngSignature)+20]++ // inside IHDR

	const (
		notImage = "The image must be a PNG, JPEG, GIF or WebP file."
		damaged  = msgDamaged
		tooWide  = "The image is wider or taller than 8000 pixels."
		tooMany  = "The image has more than 40 megapixels."
	)
	tests := []struct {
		name string
		data []byte
		max  int64
		want string
	}{
		{"Empty", nil, 0, "The image is empty."},
		{"TooLarge", png1, int64(len(png1)) - 1, "The image is larger than " + formatSize(int64(len(png1))-1) + "."},
		{"TooLargeMiB", bytes.Repeat([]byte{0}, 1<<20+1), 1 << 20, "The image is larger than 1 MiB."},
		{"HTMLNamedPNG", []byte("<!DOCTYPE html><html><script>alert(document.cookie)</script></html>"), 0, notImage},
		{"SVG", []byte(`<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="1" height="1"/></svg>`), 0, notImage},
		{"SVGWithProlog", []byte(`<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`), 0, notImage},
		{"Text", []byte("hello"), 0, notImage},
		{"PDF", []byte("%PDF-1.7\n"), 0, notImage},
		{"BMP", append([]byte("BM"), make([]byte, 60)...), 0, notImage},
		{"TIFF", []byte("II*\x00\x08\x00\x00\x00"), 0, notImage},
		{"WhitespaceThenPNG", append([]byte(" "), png1...), 0, notImage},
		{"PNGSignatureThenHTML", []byte(pngSignature + "<html><script>alert(1)</script></html>"), 0, damaged},
		{"GIFHeaderThenScript", []byte("GIF89a/*\x00\x00\x00\x00*/=alert(1);"), 0, damaged},
		{"JPEGMagicThenHTML", []byte("\xff\xd8\xff<html>"), 0, damaged},
		{"RIFFThenHTML", []byte("RIFF\x10\x00\x00\x00WEBP<html><scr"), 0, damaged},
		{"PNGBadChecksum", badCRC, 0, damaged},
		{"PNGTruncated", png1[:len(png1)/2], 0, damaged},
		{"PNGNoIEND", png1[:len(png1)-12], 0, damaged},
		{"JPEGTruncated", jpg[:len(jpg)/2], 0, damaged},
		{"JPEGNoEOI", jpg[:len(jpg)-2], 0, damaged},
		{"JPEGScanGarbled", garble(jpg, len(jpg)*3/4), 0, damaged},
		{"GIFTruncated", gif1[:len(gif1)-3], 0, damaged},
		{"GIFNoFrames", []byte("GIF89a\x01\x00\x01\x00\x00\x00\x00\x3b"), 0, damaged},
		{"WebPTruncated", webpLossy[:len(webpLossy)-4], 0, damaged},
		{"WebPOnlyMetadata", withRIFFSize(append([]byte("RIFF\x00\x00\x00\x00WEBP"), webpChunk("EXIF", []byte("x"))...)), 0, damaged},
		{"PNGTooWide", pngWithSize(8001, 1), 0, tooWide},
		{"PNGTooTall", pngWithSize(1, 8001), 0, tooWide},
		{"PNGTooManyPixels", pngWithSize(7000, 7000), 0, tooMany},
		{"PNGZeroWidth", pngWithSize(0, 10), 0, damaged},
		{"JPEGTooLarge", jpegWithSize(t, jpg, 9000, 9000), 0, tooWide},
		{"JPEGTooManyPixels", jpegWithSize(t, jpg, 7000, 7000), 0, tooMany},
		{"GIFTooLarge", gifBomb(9000, 10, 1), 0, tooWide},
		{"GIFBomb", gifBomb(8000, 5000, 3), 0, "The animation has more than 100 megapixels in all its frames."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			max := tt.max
			if max == 0 {
				max = 10 << 20
			}
			img, err := CheckImage(bytes.NewReader(tt.data), max)
			if err == nil {
				t.Fatalf("CheckImage() = %s %d×%d, want an error", img.ContentType, img.Width, img.Height)
			}
			if engine.ErrorCode(err) != engine.CodeInvalid || engine.ErrorMessage(err) != tt.want {
				t.Errorf("CheckImage() error = %v, want invalid %q", err, tt.want)
			}
			if diff := cmp.Diff([]engine.FieldError{{Field: "image", Message: tt.want}}, engine.ErrorFields(err)); diff != "" {
				t.Errorf("CheckImage() fields (-want +got):\n%s", diff)
			}
		})
	}
}

// garble overwrites bytes from i on with a pattern that is not valid
// Huffman data, keeping the EOI.
func garble(j []byte, i int) []byte {
	out := append([]byte{}, j...)
	for k := i; k < len(out)-2; k++ {
		out[k] = 0xff
		if k%2 == 1 {
			out[k] = 0x00
		}
	}
	return out
}

// pngWithSize is a PNG whose header claims w×h over a one-row image: its
// size must be refused before anything is decoded.
func pngWithSize(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 0, 0, 0, 0) // 8-bit grey
	p := []byte(pngSignature)
	p = append(p, pngChunk("IHDR", ihdr)...)
	p = append(p, pngChunk("IDAT", []byte{0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01})...)
	return append(p, pngChunk("IEND", nil)...)
}

// jpegWithSize patches the frame header of j to claim w×h.
func jpegWithSize(t testing.TB, j []byte, w, h uint16) []byte {
	t.Helper()
	i := bytes.Index(j, []byte{0xff, 0xc0})
	if i < 0 {
		t.Fatal("no SOF0")
	}
	out := append([]byte{}, j...)
	binary.BigEndian.PutUint16(out[i+5:], h)
	binary.BigEndian.PutUint16(out[i+7:], w)
	return out
}

// gifBomb is a GIF of frames frames of w×h, each with empty image data:
// tiny, yet decoding it would allocate every frame.
func gifBomb(w, h uint16, frames int) []byte {
	g := []byte("GIF89a")
	g = binary.LittleEndian.AppendUint16(g, w)
	g = binary.LittleEndian.AppendUint16(g, h)
	g = append(g, 0x80, 0, 0) // global colour table of 2
	g = append(g, 0, 0, 0, 255, 255, 255)
	for range frames {
		g = append(g, 0x2c, 0, 0, 0, 0)
		g = binary.LittleEndian.AppendUint16(g, w)
		g = binary.LittleEndian.AppendUint16(g, h)
		g = append(g, 0, 2, 0) // no local table, LZW width 2, no data
	}
	return append(g, 0x3b)
}

func withRIFFSize(b []byte) []byte {
	binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

func TestCheckImage_ReadsAtMostMaxPlusOne(t *testing.T) {
	t.Parallel()
	r := &countingReader{r: iotest.OneByteReader(strings.NewReader(strings.Repeat("x", 10000)))}
	_, err := CheckImage(r, 100)
	if engine.ErrorCode(err) != engine.CodeInvalid {
		t.Errorf("CheckImage() error = %v, want invalid", err)
	}
	if r.n != 101 {
		t.Errorf("read %d bytes, want 101", r.n)
	}
}

type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

func TestCheckImage_ReadError(t *testing.T) {
	t.Parallel()
	_, err := CheckImage(iotest.ErrReader(io.ErrUnexpectedEOF), 100)
	if err == nil || engine.ErrorCode(err) != engine.CodeInternal {
		t.Errorf("CheckImage(failing reader) error = %v, want an internal error", err)
	}
	if _, err := CheckImage(strings.NewReader("x"), 0); err == nil {
		t.Error("CheckImage(max 0) error = nil")
	}
}

func TestFormatSize(t *testing.T) {
	t.Parallel()
	for n, want := range map[int64]string{
		10 << 20: "10 MiB", 1<<20 + 1<<19: "1.5 MiB", 512 << 10: "512 KiB", 1000: "1000 bytes", 1: "1 byte",
	} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}

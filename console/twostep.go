package console

import (
	"encoding/base64"
	"net/http"
	"strings"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/api"
)

// twoStepView is the platform admin's two-step sign-in page.
type twoStepView struct {
	Enabled bool
	Done    bool
	// QR (a data: URL of a PNG) and Secret are set right after enrolment
	// starts, the only time they are shown.
	QR     string
	Secret string
	// Confirming shows the code form: enrolment has started.
	Confirming bool
	Error      string
}

func (c *console) twoStepPage(w http.ResponseWriter, r *http.Request) {
	s, _ := sessionFrom(r.Context())
	v := twoStepView{Enabled: s.MFAEnabled, Done: r.URL.Query().Get("done") == "1"}
	c.render(w, r, http.StatusOK, twoStepPage(c.chrome(r, "Two-step sign-in", "two-step"), v))
}

func (c *console) enrollTwoStep(w http.ResponseWriter, r *http.Request) {
	e, err := c.identity.EnrollAdminTOTP(r.Context())
	switch engine.ErrorCode(err) {
	case "":
	case engine.CodeConflict:
		c.render(w, r, http.StatusConflict, twoStepPage(c.chrome(r, "Two-step sign-in", "two-step"),
			twoStepView{Enabled: true, Error: engine.ErrorMessage(err)}))
		return
	default:
		c.fail(w, r, err)
		return
	}
	v := twoStepView{
		Confirming: true,
		QR:         "data:image/png;base64," + base64.StdEncoding.EncodeToString(e.QRPNG),
		Secret:     e.Secret,
	}
	c.render(w, r, http.StatusOK, twoStepPage(c.chrome(r, "Two-step sign-in", "two-step"), v))
}

func (c *console) confirmTwoStep(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		c.badForm(w, r, err)
		return
	}
	code := strings.ReplaceAll(strings.TrimSpace(r.PostForm.Get("code")), " ", "")
	err := c.identity.ConfirmAdminTOTP(r.Context(), code)
	switch engine.ErrorCode(err) {
	case "":
		redirect(w, r, consoleBase(r.Context())+"/two-step?done=1")
	case engine.CodeInvalid, engine.CodeConflict:
		v := twoStepView{Confirming: engine.ErrorCode(err) == engine.CodeInvalid, Error: sentence(engine.ErrorMessage(err))}
		v.Enabled = !v.Confirming
		c.render(w, r, api.StatusFor(engine.ErrorCode(err)), twoStepPage(c.chrome(r, "Two-step sign-in", "two-step"), v))
	default:
		c.fail(w, r, err)
	}
}

package social

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/plugin"
	"github.com/guildhall/guildhall/engine/rules"
)

// consoleSettingsView is the social settings form, with shortcuts to the
// rules of the plugin's coin events.
type consoleSettingsView struct {
	Base   string
	Form   *consoleForm
	Error  string
	Notice string
	Rules  []rules.Rule
}

// consoleSettingFields are the settings' number inputs (named as the
// service's fields), their labels and hints, in the form's order.
var consoleSettingFields = []struct{ Name, Label, Hint string }{
	{"max_post_length", "Longest post", "Characters, 1 to 10,000."},
	{"max_comment_length", "Longest comment", "Characters, 1 to 10,000."},
	{"max_images_per_post", "Images per post", "0 to 10; 0 turns images off."},
	{"max_image_bytes", "Largest image", "Bytes, 1,024 to 20,971,520 (5 MiB is 5,242,880)."},
	{"posts_per_hour", "Posts per hour", "Per member, 1 to 10,000."},
	{"comments_per_hour", "Comments per hour", "Per member, 1 to 10,000."},
	{"likes_per_minute", "Likes per minute", "Per member, likes and unlikes together, 1 to 10,000."},
	{"new_account_hours", "New-account period", "Hours, 0 to 8,760: younger members may not post links and earn no social coins. 0 turns it off."},
	{"retention_days", "Keep deleted content", "Days, 1 to 3,650, before deleted posts and comments are purged."},
	{"notification_retention_days", "Keep notifications", "Days, 1 to 3,650."},
}

// consoleSettingLabels names every input in messages.
var consoleSettingLabels = func() map[string]string {
	m := map[string]string{"blocked_words": "Blocked words", "own_post_comment_coins": "Coins for comments on your own post",
		"show_coins": "Show coins on profiles"}
	for _, fd := range consoleSettingFields {
		m[fd.Name] = fd.Label
	}
	return m
}()

// consoleSettingInputs maps the service's fields to inputs: the same
// names.
var consoleSettingInputs = func() map[string]string {
	m := map[string]string{}
	for name := range consoleSettingLabels {
		m[name] = name
	}
	return m
}()

func (c *consolePages) settings(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	st, err := c.svc.Settings(r.Context())
	if err != nil {
		f.Fail(w, r, err)
		return
	}
	c.settingsPage(w, r, f, http.StatusOK, consoleSettingsView{Form: consoleSavedSettings(st), Notice: consoleNotices[r.URL.Query().Get("done")]})
}

// settingsPage renders v with the rules shortcuts.
func (c *consolePages) settingsPage(w http.ResponseWriter, r *http.Request, f plugin.Frame, status int, v consoleSettingsView) {
	var err error
	if v.Rules, err = c.svc.EventRules(r.Context()); err != nil {
		f.Fail(w, r, err)
		return
	}
	v.Base = f.Path(r, "")
	c.render(w, r, f, status, "Social settings", consoleSectionSettings, consoleSettingsPage(v))
}

// consoleSavedSettings holds saved settings as the form shows them.
func consoleSavedSettings(st Settings) *consoleForm {
	f := newConsoleForm(nil)
	for name, n := range map[string]int{
		"max_post_length": st.MaxPostLength, "max_comment_length": st.MaxCommentLength, "max_images_per_post": st.MaxImagesPerPost,
		"max_image_bytes": st.MaxImageBytes, "posts_per_hour": st.PostsPerHour, "comments_per_hour": st.CommentsPerHour,
		"likes_per_minute": st.LikesPerMinute, "new_account_hours": st.NewAccountHours, "retention_days": st.RetentionDays,
		"notification_retention_days": st.NotificationRetentionDays,
	} {
		f.Values[name] = strconv.Itoa(n)
	}
	f.Values["blocked_words"] = strings.Join(st.BlockedWords, "\n")
	if st.OwnPostCommentCoins {
		f.Values["own_post_comment_coins"] = "on"
	}
	if st.ShowCoins {
		f.Values["show_coins"] = "on"
	}
	return f
}

// saveSettings replaces every setting with the form's: numbers are read
// here, the service checks their ranges and the blocked words.
func (c *consolePages) saveSettings(w http.ResponseWriter, r *http.Request, f plugin.Frame) {
	if !c.parseForm(w, r, f) {
		return
	}
	form := newConsoleForm(r.PostForm)
	n := func(name string) int { return form.integer(name, consoleSettingLabels[name]) }
	st := Settings{
		MaxPostLength: n("max_post_length"), MaxCommentLength: n("max_comment_length"), MaxImagesPerPost: n("max_images_per_post"),
		MaxImageBytes: n("max_image_bytes"), PostsPerHour: n("posts_per_hour"), CommentsPerHour: n("comments_per_hour"),
		LikesPerMinute: n("likes_per_minute"), NewAccountHours: n("new_account_hours"), RetentionDays: n("retention_days"),
		NotificationRetentionDays: n("notification_retention_days"),
		OwnPostCommentCoins:       form.checked("own_post_comment_coins"), ShowCoins: form.checked("show_coins"),
		BlockedWords: []string{},
	}
	for line := range strings.Lines(form.raw("blocked_words")) {
		if word := strings.TrimSpace(line); word != "" {
			st.BlockedWords = append(st.BlockedWords, word)
		}
	}
	v := consoleSettingsView{Form: form}
	if len(form.Errors) > 0 {
		// Check the rest too, so every problem shows at once; the inputs
		// that did not read keep their own message.
		v.Error = form.merge(st.Validate(), consoleSettingInputs, consoleSettingLabels, "Nothing was saved.")
		c.settingsPage(w, r, f, http.StatusUnprocessableEntity, v)
		return
	}
	_, err := c.svc.UpdateSettings(r.Context(), st)
	switch engine.ErrorCode(err) {
	case "":
		c.done(w, r, f, consoleSectionSettings, "saved")
	case engine.CodeInvalid:
		v.Error = form.merge(err, consoleSettingInputs, consoleSettingLabels, "Nothing was saved.")
		c.settingsPage(w, r, f, http.StatusUnprocessableEntity, v)
	default:
		f.Fail(w, r, err)
	}
}

package console

import (
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/rewards"
	"github.com/guildhall/guildhall/tenants"
)

// rewardsView is the catalog as staff see it.
type rewardsView struct {
	Rewards []rewards.Reward
	Active  string // filter: "", "yes" or "no"
	Query   string
	Cursor  string
	Next    string
	Error   string
	Notice  string
}

// rewardView is a reward's form (a new one when Reward is nil), and for a
// coupon reward the upload of codes.
type rewardView struct {
	Reward   *rewards.Reward
	Form     *formReader
	Error    string
	Notice   string
	Codes    *formReader
	CodesErr string
	Uploaded *rewards.UploadResult
	Zone     string // the time zone availability is typed in
}

var rewardLabels = map[string]string{
	"name": "Name", "description": "Description", "image_url": "Image URL", "kind": "Kind", "price": "Price",
	"stock": "Stock", "per_member_limit": "Limit per member", "available_from": "Available from",
	"available_until": "Available until", "active": "Active", "codes": "Codes",
}

// rewardKinds are the kinds of reward, as the form offers them.
var rewardKinds = []struct{ Value, Label string }{
	{rewards.KindPhysical, "Physical: shipped to an address"},
	{rewards.KindCoupon, "Coupon: a code from an uploaded pool"},
	{rewards.KindDigital, "Digital or a service: nothing to ship"},
}

var rewardNotices = map[string]string{
	"created":     "Reward created.",
	"saved":       "Reward saved.",
	"deactivated": "Reward deactivated: members no longer see it. Its orders are unaffected.",
}

func (c *console) listRewards(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := rewardsView{Active: q.Get("active"), Query: strings.TrimSpace(q.Get("q")), Cursor: q.Get("cursor"), Notice: rewardNotices[q.Get("done")]}
	p := rewards.ListRewardsParams{Query: v.Query, Cursor: v.Cursor, Limit: min(c.pageSize, 100)}
	var ok bool
	if p.Active, ok = parseYesNo(v.Active); !ok {
		v.Error = "The filter is not valid: active must be yes or no."
		c.render(w, r, http.StatusBadRequest, rewardsPage(c.chrome(r, "Rewards", "rewards"), v))
		return
	}
	page, err := c.rewards.ListRewards(r.Context(), p)
	status := http.StatusOK
	switch engine.ErrorCode(err) {
	case "":
		v.Rewards, v.Next = page.Rewards, page.Next
	case engine.CodeInvalid:
		v.Error = "The filter is not valid: " + problems(err) + "."
		status = http.StatusBadRequest
	default:
		c.fail(w, r, err)
		return
	}
	c.render(w, r, status, rewardsPage(c.chrome(r, "Rewards", "rewards"), v))
}

// zone is the time zone of the request's tenant, in which availability
// windows are typed and shown.
func zone(r *http.Request) *time.Location {
	if t, ok := tenants.FromContext(r.Context()); ok {
		if loc, err := time.LoadLocation(t.TimeZone); err == nil {
			return loc
		}
	}
	return time.UTC
}

func (c *console) newReward(w http.ResponseWriter, r *http.Request) {
	f := newFormReader(nil)
	f.Values = map[string]string{"kind": rewards.KindDigital, "active": "on"}
	v := rewardView{Form: f, Zone: zone(r).String()}
	c.render(w, r, http.StatusOK, rewardPage(c.chrome(r, "New reward", "rewards"), v))
}

// readReward reads the reward form.
func readReward(r *http.Request, creating bool) (rewards.RewardParams, *formReader) {
	f := newFormReader(r.PostForm)
	loc := zone(r)
	p := rewards.RewardParams{
		Name:           f.text("name"),
		Description:    f.raw("description"),
		ImageURL:       f.text("image_url"),
		Price:          f.integer("price", rewardLabels["price"]),
		Stock:          f.optInt("stock", rewardLabels["stock"]),
		PerMemberLimit: f.optInt("per_member_limit", rewardLabels["per_member_limit"]),
		AvailableFrom:  f.optTime("available_from", rewardLabels["available_from"], loc),
		AvailableUntil: f.optTime("available_until", rewardLabels["available_until"], loc),
	}
	if creating {
		p.Kind = f.text("kind")
	}
	active := f.checked("active")
	p.Active = &active
	return p, f
}

func (c *console) createReward(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		c.badForm(w, r, err)
		return
	}
	p, f := readReward(r, true)
	v := rewardView{Form: f, Zone: zone(r).String()}
	if len(f.Errors) > 0 {
		v.Error = f.summary("Nothing was created.")
		c.renderPage(w, r, http.StatusUnprocessableEntity, rewardPage(c.chrome(r, "New reward", "rewards"), v))
		return
	}
	created, err := c.rewards.CreateReward(r.Context(), p)
	switch engine.ErrorCode(err) {
	case "":
		redirect(w, r, rewardURL(consoleBase(r.Context()), created.ID)+"?done=created")
	case engine.CodeInvalid:
		v.Error = f.merge(err, rewardLabels, nil, "Nothing was created.")
		c.renderPage(w, r, http.StatusUnprocessableEntity, rewardPage(c.chrome(r, "New reward", "rewards"), v))
	default:
		c.fail(w, r, err)
	}
}

func (c *console) showReward(w http.ResponseWriter, r *http.Request) {
	c.rewardPage(w, r, http.StatusOK, func(v *rewardView) { v.Notice = rewardNotices[r.URL.Query().Get("done")] })
}

// rewardPage renders the reward of the path with status; edit adds what
// the request has to say. The form shows the saved reward unless edit
// sets it.
func (c *console) rewardPage(w http.ResponseWriter, r *http.Request, status int, edit func(*rewardView)) {
	id, ok := c.pathID(w, r)
	if !ok {
		return
	}
	rw, err := c.rewards.Reward(r.Context(), id)
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v := rewardView{Reward: &rw, Codes: newFormReader(nil), Zone: zone(r).String()}
	edit(&v)
	if v.Form == nil {
		v.Form = savedRewardForm(rw, zone(r))
	}
	c.renderPage(w, r, status, rewardPage(c.chrome(r, rw.Name, "rewards"), v))
}

// savedRewardForm holds a saved reward's values as the form shows them.
func savedRewardForm(rw rewards.Reward, loc *time.Location) *formReader {
	f := newFormReader(nil)
	f.Values = map[string]string{
		"name": rw.Name, "description": rw.Description, "image_url": rw.ImageURL, "kind": rw.Kind,
		"price": optional(&rw.Price, ""), "stock": numberValue(rw.Stock), "per_member_limit": numberValue(rw.PerMemberLimit),
		"available_from": localInput(rw.AvailableFrom, loc), "available_until": localInput(rw.AvailableUntil, loc),
	}
	if rw.Active {
		f.Values["active"] = "on"
	}
	return f
}

// localInput is the value of a datetime-local input for t in loc.
func localInput(t *time.Time, loc *time.Location) string {
	if t == nil {
		return ""
	}
	return t.In(loc).Format("2006-01-02T15:04")
}

func (c *console) updateReward(w http.ResponseWriter, r *http.Request) {
	id, ok := c.pathID(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		c.badForm(w, r, err)
		return
	}
	p, f := readReward(r, false)
	if len(f.Errors) > 0 {
		summary := f.summary("Nothing was saved.")
		c.rewardPage(w, r, http.StatusUnprocessableEntity, func(v *rewardView) { v.Form, v.Error = f, summary })
		return
	}
	_, err := c.rewards.UpdateReward(r.Context(), id, p)
	switch engine.ErrorCode(err) {
	case "":
		redirect(w, r, rewardURL(consoleBase(r.Context()), id)+"?done=saved")
	case engine.CodeInvalid:
		summary := f.merge(err, rewardLabels, nil, "Nothing was saved.")
		c.rewardPage(w, r, http.StatusUnprocessableEntity, func(v *rewardView) { v.Form, v.Error = f, summary })
	default:
		c.fail(w, r, err)
	}
}

func (c *console) deactivateReward(w http.ResponseWriter, r *http.Request) {
	id, ok := c.pathID(w, r)
	if !ok {
		return
	}
	if _, err := c.rewards.DeactivateReward(r.Context(), id); err != nil {
		c.fail(w, r, err)
		return
	}
	redirect(w, r, rewardURL(consoleBase(r.Context()), id)+"?done=deactivated")
}

// uploadCodes adds the codes of a textarea, one a line, to a coupon
// reward's pool and says how many were new.
func (c *console) uploadCodes(w http.ResponseWriter, r *http.Request) {
	id, ok := c.pathID(w, r)
	if !ok {
		return
	}
	if err := r.ParseForm(); err != nil {
		c.badForm(w, r, err)
		return
	}
	f := newFormReader(r.PostForm)
	var codes []string
	for line := range strings.Lines(f.raw("codes")) {
		if code := strings.TrimSpace(line); code != "" {
			codes = append(codes, code)
		}
	}
	res, err := c.rewards.UploadCodes(r.Context(), id, codes)
	switch engine.ErrorCode(err) {
	case "":
		c.rewardPage(w, r, http.StatusOK, func(v *rewardView) { v.Uploaded = &res })
	case engine.CodeInvalid:
		summary := f.merge(err, rewardLabels, nil, "No codes were added.")
		c.rewardPage(w, r, http.StatusUnprocessableEntity, func(v *rewardView) { v.Codes, v.CodesErr = f, summary })
	default:
		c.fail(w, r, err)
	}
}

// rewardURL is a reward's page.
func rewardURL(base string, id uuid.UUID) string { return base + "/rewards/" + id.String() }

// rewardsURL is a page of the catalog with the filters of v.
func rewardsURL(base string, v rewardsView, cursor string) string {
	return pageURL(base+"/rewards", map[string]string{"active": v.Active, "q": v.Query, "cursor": cursor})
}

// window shows a reward's availability window.
func window(rw rewards.Reward) string {
	switch {
	case rw.AvailableFrom == nil && rw.AvailableUntil == nil:
		return "always"
	case rw.AvailableUntil == nil:
		return "from " + formatTime(*rw.AvailableFrom)
	case rw.AvailableFrom == nil:
		return "until " + formatTime(*rw.AvailableUntil)
	default:
		return formatTime(*rw.AvailableFrom) + " – " + formatTime(*rw.AvailableUntil)
	}
}

// kindLabel names a reward kind.
func kindLabel(kind string) string {
	for _, k := range rewardKinds {
		if k.Value == kind {
			return k.Label
		}
	}
	return kind
}

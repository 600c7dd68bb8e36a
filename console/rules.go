package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/guildhall/guildhall/engine"
	"github.com/guildhall/guildhall/engine/authz"
	"github.com/guildhall/guildhall/engine/identity"
	"github.com/guildhall/guildhall/engine/ledger"
	"github.com/guildhall/guildhall/engine/rules"
	"github.com/guildhall/guildhall/tenants"
)

// rulesView is the rules list and the form for a new custom event type.
type rulesView struct {
	Rules    []rules.Rule
	Declared map[string]bool // event types the tenant's plugins declare
	New      *formReader     // the new event type form
	Error    string
	Notice   string
}

// ruleView is one event type's rule: its form, a preview of what an event
// would earn, and a backtest of the form's (unsaved) values.
type ruleView struct {
	Saved    rules.Rule // the rule as it is now
	Declared bool       // a plugin declares the event type
	Form     *formReader
	Error    string
	Notice   string
	Preview  previewView
	Backtest *rules.Backtest
}

// previewView is the preview form and its answer.
type previewView struct {
	Form     *formReader
	Error    string
	Decision *rules.Decision
}

// ruleLabels names the rule form's inputs.
var ruleLabels = func() map[string]string {
	m := map[string]string{
		"event_type": "Event type", "name": "Name", "coins": "Coins", "condition": "Condition",
		"cap_day": "Cap per day", "cap_week": "Cap per week", "cap_month": "Cap per month", "cap_total": "Total cap",
		"pair_cap_day": "Pair cap per day", "new_account_days": "New account days", "new_account_coins": "New account coins",
		"reversal": "Reversal policy", "enabled": "Enabled",
	}
	for _, role := range authz.Roles {
		m[capPercentInput(role)] = "Cap % for " + role + "s"
	}
	return m
}()

// capPercentInput is the input of a role's cap percentage.
func capPercentInput(role string) string { return "cap_percent_" + role }

// ruleField maps the rule service's field names to the form's inputs.
func ruleField(field string) string {
	if role, ok := strings.CutPrefix(field, "cap_percent_by_role."); ok {
		return capPercentInput(role)
	}
	return field
}

// reasons explain a decision's reason code.
var reasons = map[string]string{
	"granted":             "the rule pays it in full",
	"rule_day_cap":        "the member reached this rule's cap per day",
	"rule_week_cap":       "the member reached this rule's cap per week",
	"rule_month_cap":      "the member reached this rule's cap per month",
	"rule_total_cap":      "the member reached this rule's total cap",
	"pair_daily_cap":      "this actor already earned the member coins as often as allowed today",
	"member_daily_cap":    "the member reached the daily cap of all rules together",
	"tenant_daily_budget": "the community's daily budget is spent",
	"new_account":         "the member's account is new, so the new-account coins apply",
	"condition_false":     "the rule's condition is false for this event",
	"condition_error":     "the rule's condition could not be evaluated for this event",
	"rule_disabled":       "the rule is disabled",
	"wallet_frozen":       "the member's wallet is frozen",
	"member_banned":       "the member is banned",
	"member_inactive":     "the member's account is not active",
	"nothing_due":         "the rule pays nothing",
}

// reasonText explains a reason code in words.
func reasonText(code string) string {
	if s, ok := reasons[code]; ok {
		return s
	}
	return code
}

// declaredTypes are the event types the plugins of the request's tenant
// declare: their rules revert to a default when deleted.
func (c *console) declaredTypes(r *http.Request) map[string]bool {
	out := map[string]bool{}
	t, ok := tenants.FromContext(r.Context())
	if !ok {
		return out
	}
	for _, p := range c.plugins.All() {
		m := p.Manifest()
		if !t.HasPlugin(m.Name) {
			continue
		}
		for _, et := range m.EventTypes {
			out[et.Type] = true
		}
	}
	return out
}

var ruleNotices = map[string]string{
	"created":  "Event type created. Set its rule below.",
	"saved":    "Rule saved. It applies to the next event.",
	"reverted": "Your changes were removed: the plugin's default rule applies again.",
	"deleted":  "Event type deleted: its events earn nothing now.",
}

func (c *console) listRules(w http.ResponseWriter, r *http.Request) {
	v := rulesView{New: newFormReader(nil), Notice: ruleNotices[r.URL.Query().Get("done")]}
	v.New.Values["coins"] = "10"
	c.rulesPage(w, r, http.StatusOK, v)
}

func (c *console) rulesPage(w http.ResponseWriter, r *http.Request, status int, v rulesView) {
	list, err := c.rules.Rules(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v.Rules, v.Declared = list, c.declaredTypes(r)
	c.renderPage(w, r, status, rulesPage(c.chrome(r, "Rules", "rules"), v))
}

// createRule adds a custom event type with its first rule.
func (c *console) createRule(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		c.badForm(w, r, err)
		return
	}
	f := newFormReader(r.PostForm)
	rule := rules.Rule{EventType: f.text("event_type"), Name: f.text("name"), Coins: f.integer("coins", "Coins"), Enabled: true}
	v := rulesView{New: f}
	if len(f.Errors) > 0 {
		v.Error = f.merge(rule.Validate(), ruleLabels, ruleField, "Nothing was created.")
		c.rulesPage(w, r, http.StatusUnprocessableEntity, v)
		return
	}
	// PutRule replaces a rule; a new event type must not.
	_, err := c.rules.Rule(r.Context(), rule.EventType)
	switch engine.ErrorCode(err) {
	case engine.CodeNotFound:
	case "":
		f.Errors["event_type"] = "This event type already has a rule: edit it in the list below."
		v.Error = f.summary("Nothing was created.")
		c.rulesPage(w, r, http.StatusConflict, v)
		return
	default:
		c.fail(w, r, err)
		return
	}
	_, err = c.rules.PutRule(r.Context(), rule)
	switch engine.ErrorCode(err) {
	case "":
		redirect(w, r, ruleURL(consoleBase(r.Context()), rule.EventType)+"?done=created")
	case engine.CodeInvalid:
		v.Error = f.merge(err, ruleLabels, ruleField, "Nothing was created.")
		c.rulesPage(w, r, http.StatusUnprocessableEntity, v)
	default:
		c.fail(w, r, err)
	}
}

func (c *console) showRule(w http.ResponseWriter, r *http.Request) {
	c.rulePage(w, r, http.StatusOK, func(v *ruleView) { v.Notice = ruleNotices[r.URL.Query().Get("done")] })
}

// rulePage renders the rule of the path's event type with status; edit
// adds what the request has to say. The form shows the saved rule unless
// edit sets it.
func (c *console) rulePage(w http.ResponseWriter, r *http.Request, status int, edit func(*ruleView)) {
	c.renderRule(w, r, status, contentFragment, edit)
}

// renderRule is rulePage whose htmx answer is the fragment named fragment.
func (c *console) renderRule(w http.ResponseWriter, r *http.Request, status int, fragment string, edit func(*ruleView)) {
	saved, err := c.rules.Rule(r.Context(), r.PathValue("type"))
	if err != nil {
		c.fail(w, r, err)
		return
	}
	v := ruleView{Saved: saved, Declared: c.declaredTypes(r)[saved.EventType], Preview: previewView{Form: newFormReader(nil)}}
	edit(&v)
	if v.Form == nil {
		v.Form = ruleForm(saved)
	}
	comp := rulePage(c.chrome(r, saved.EventType, "rules"), v)
	if isHTMX(r) {
		c.renderFragment(w, r, status, comp, fragment)
		return
	}
	c.render(w, r, status, comp)
}

// previewFragment names the preview section of a rule's page; the preview
// form swaps only it, leaving unsaved edits of the rule form alone.
const previewFragment = "preview"

// ruleForm holds the values of a saved rule as the form shows them.
func ruleForm(rule rules.Rule) *formReader {
	f := newFormReader(nil)
	f.Values = map[string]string{
		"name": rule.Name, "coins": optional(&rule.Coins, ""), "condition": rule.Condition,
		"cap_day": numberValue(rule.CapDay), "cap_week": numberValue(rule.CapWeek), "cap_month": numberValue(rule.CapMonth),
		"cap_total": numberValue(rule.CapTotal), "pair_cap_day": numberValue(rule.PairCapDay),
		"new_account_days": numberValue(rule.NewAccountDays), "new_account_coins": optional(&rule.NewAccountCoins, ""),
		"reversal": rule.Reversal,
	}
	if rule.Enabled {
		f.Values["enabled"] = "on"
	}
	for role, pct := range rule.CapPercentByRole {
		f.Values[capPercentInput(role)] = numberValue(&pct)
	}
	return f
}

// readRule reads the rule form of eventType.
func readRule(eventType string, form url.Values) (rules.Rule, *formReader) {
	f := newFormReader(form)
	rule := rules.Rule{
		EventType:        eventType,
		Name:             f.text("name"),
		Coins:            f.integer("coins", ruleLabels["coins"]),
		Condition:        f.raw("condition"),
		CapDay:           f.optInteger("cap_day", ruleLabels["cap_day"]),
		CapWeek:          f.optInteger("cap_week", ruleLabels["cap_week"]),
		CapMonth:         f.optInteger("cap_month", ruleLabels["cap_month"]),
		CapTotal:         f.optInteger("cap_total", ruleLabels["cap_total"]),
		PairCapDay:       f.optInt("pair_cap_day", ruleLabels["pair_cap_day"]),
		NewAccountDays:   f.optInt("new_account_days", ruleLabels["new_account_days"]),
		Reversal:         f.text("reversal"),
		Enabled:          f.checked("enabled"),
		CapPercentByRole: map[string]int{},
	}
	if n := f.optInteger("new_account_coins", ruleLabels["new_account_coins"]); n != nil {
		rule.NewAccountCoins = *n
	}
	for _, role := range authz.Roles {
		if pct := f.optInt(capPercentInput(role), ruleLabels[capPercentInput(role)]); pct != nil {
			rule.CapPercentByRole[role] = *pct
		}
	}
	return rule, f
}

func (c *console) saveRule(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		c.badForm(w, r, err)
		return
	}
	eventType := r.PathValue("type")
	// This form edits an event type's rule; new ones come from the list's
	// form, so an unknown type is not found rather than created.
	if _, err := c.rules.Rule(r.Context(), eventType); err != nil {
		c.fail(w, r, err)
		return
	}
	rule, f := readRule(eventType, r.PostForm)
	if len(f.Errors) > 0 {
		// Report the service's problems with the other fields too.
		summary := f.merge(rule.Validate(), ruleLabels, ruleField, "Nothing was saved.")
		c.rulePage(w, r, http.StatusUnprocessableEntity, func(v *ruleView) { v.Form, v.Error = f, summary })
		return
	}
	_, err := c.rules.PutRule(r.Context(), rule)
	switch engine.ErrorCode(err) {
	case "":
		redirect(w, r, ruleURL(consoleBase(r.Context()), eventType)+"?done=saved")
	case engine.CodeInvalid:
		summary := f.merge(err, ruleLabels, ruleField, "Nothing was saved.")
		c.rulePage(w, r, http.StatusUnprocessableEntity, func(v *ruleView) { v.Form, v.Error = f, summary })
	default:
		c.fail(w, r, err)
	}
}

func (c *console) deleteRule(w http.ResponseWriter, r *http.Request) {
	eventType := r.PathValue("type")
	if err := c.rules.DeleteRule(r.Context(), eventType); err != nil {
		c.fail(w, r, err)
		return
	}
	base := consoleBase(r.Context())
	if c.declaredTypes(r)[eventType] {
		redirect(w, r, ruleURL(base, eventType)+"?done=reverted")
		return
	}
	redirect(w, r, base+"/rules?done=deleted")
}

// previewLabels names the preview form's inputs.
var previewLabels = map[string]string{"member": "Member", "actor": "Actor", "ref": "Reference", "attributes": "Attributes", "type": "Event type"}

// previewRule answers what an event of the path's type would earn a
// member now, under the saved rules, without writing anything.
func (c *console) previewRule(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		c.badForm(w, r, err)
		return
	}
	f := newFormReader(r.PostForm)
	e := rules.Event{Type: r.PathValue("type"), Ref: f.text("ref")}
	if id, ok := c.findMember(r, f, "member", previewLabels["member"], true); ok {
		e.Member = id
	}
	if id, ok := c.findMember(r, f, "actor", previewLabels["actor"], false); ok && id != uuid.Nil {
		e.Actor = &id
	}
	if raw := f.raw("attributes"); strings.TrimSpace(raw) != "" {
		if err := json.Unmarshal([]byte(raw), &e.Attributes); err != nil {
			f.Errors["attributes"] = "Attributes must be a JSON object, such as {\"total\": 60}."
		}
	}
	pv := previewView{Form: f}
	status := http.StatusOK
	if len(f.Errors) == 0 {
		d, err := c.rules.DryRun(r.Context(), e)
		switch engine.ErrorCode(err) {
		case "":
			pv.Decision = &d
		case engine.CodeInvalid:
			pv.Error = f.merge(err, previewLabels, previewField, "No preview.")
			status = http.StatusUnprocessableEntity
		default:
			c.fail(w, r, err)
			return
		}
	} else {
		pv.Error = f.summary("No preview.")
		status = http.StatusUnprocessableEntity
	}
	c.renderRule(w, r, status, previewFragment, func(v *ruleView) { v.Preview = pv })
}

// previewField maps the event's fields to the preview form's inputs.
func previewField(field string) string {
	switch field {
	case "member_id":
		return "member"
	case "actor_id":
		return "actor"
	}
	return field
}

// findMember reads input name of a form as a member: their ID, or their
// email address. ok is false when it names nobody (the problem is noted)
// or, for an optional input, when it is empty (id is then uuid.Nil).
func (c *console) findMember(r *http.Request, f *formReader, name, label string, required bool) (uuid.UUID, bool) {
	raw := f.text(name)
	if raw == "" {
		if required {
			f.Errors[name] = sentence(label + " is required: an email address or a member ID")
		}
		return uuid.Nil, !required
	}
	if id, err := uuid.Parse(raw); err == nil {
		return id, true
	}
	if !strings.Contains(raw, "@") {
		f.Errors[name] = sentence(label + " must be an email address or a member ID")
		return uuid.Nil, false
	}
	page, err := c.identity.ListMembers(r.Context(), identity.ListMembersParams{Query: raw, Limit: 10})
	if err == nil {
		for _, u := range page.Members {
			if strings.EqualFold(u.Email, raw) {
				return u.ID, true
			}
		}
	}
	f.Errors[name] = sentence("No member has the email address " + raw)
	return uuid.Nil, false
}

// backtestRule replays the last days' events through the rules with the
// form's (unsaved) rule in place of the saved one, next to what was
// issued. Nothing is saved.
func (c *console) backtestRule(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		c.badForm(w, r, err)
		return
	}
	eventType := r.PathValue("type")
	rule, f := readRule(eventType, r.PostForm)
	if len(f.Errors) > 0 {
		summary := f.merge(rule.Validate(), ruleLabels, ruleField, "No backtest.")
		c.rulePage(w, r, http.StatusUnprocessableEntity, func(v *ruleView) { v.Form, v.Error = f, summary })
		return
	}
	current, err := c.rules.Rules(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	settings, err := c.rules.Settings(r.Context())
	if err != nil {
		c.fail(w, r, err)
		return
	}
	edited := make([]rules.Rule, 0, len(current)+1)
	at := -1
	for _, cur := range current {
		if cur.EventType == eventType {
			at = len(edited)
			cur = rule
		}
		edited = append(edited, cur)
	}
	if at < 0 {
		at = len(edited)
		edited = append(edited, rule)
	}
	bt, err := c.rules.Backtest(r.Context(), edited, settings)
	switch engine.ErrorCode(err) {
	case "":
		c.rulePage(w, r, http.StatusOK, func(v *ruleView) { v.Form, v.Backtest = f, &bt })
	case engine.CodeInvalid:
		// Only the edited rule's problems are the form's.
		prefix := "rules[" + strconv.Itoa(at) + "]."
		summary := f.merge(err, ruleLabels, func(field string) string {
			return ruleField(strings.TrimPrefix(field, prefix))
		}, "No backtest.")
		c.rulePage(w, r, http.StatusUnprocessableEntity, func(v *ruleView) { v.Form, v.Error = f, summary })
	default:
		c.fail(w, r, err)
	}
}

// ruleURL is an event type's rule page.
func ruleURL(base, eventType string) string { return base + "/rules/" + url.PathEscape(eventType) }

// ruleSource says where a rule comes from.
func ruleSource(rule rules.Rule, declared bool) string {
	switch {
	case rule.Default:
		return "plugin default"
	case declared:
		return "edited default"
	default:
		return "custom"
	}
}

// capsText summarizes a rule's caps per period.
func capsText(rule rules.Rule) string {
	var parts []string
	for _, p := range []struct {
		label string
		v     *int64
	}{{"day", rule.CapDay}, {"week", rule.CapWeek}, {"month", rule.CapMonth}, {"total", rule.CapTotal}} {
		if p.v != nil {
			parts = append(parts, formatCoins(*p.v)+"/"+p.label)
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// reversalPolicies are the choices of the reversal policy.
var reversalPolicies = []struct{ Value, Label string }{
	{ledger.ReverseRemaining, "Take back what is left"},
	{ledger.CarryDebt, "Take back what is left and carry the rest as debt"},
}

// roles are the roles whose caps may be scaled, highest first.
var capRoles = authz.Roles

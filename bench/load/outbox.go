package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/outreach-coalition/outreach/internal/config"
	"github.com/outreach-coalition/outreach/internal/devmail"
	"github.com/outreach-coalition/outreach/internal/outbox"
	"github.com/outreach-coalition/outreach/internal/outreach"
	"github.com/outreach-coalition/outreach/internal/render"
	"github.com/outreach-coalition/outreach/internal/service"
	"github.com/outreach-coalition/outreach/internal/smtpout"
	"github.com/outreach-coalition/outreach/templates"
	gomail "github.com/wneessen/go-mail"
)

// The wave both sides send by default: the shipped call to action (8 KB
// on the wire), which carries the list headers, to partners writing in the
// four shipped languages. With -short, a one-paragraph template without
// layout (about 1.6 KB on the wire, near listmonk's 889-byte messages in
// ../shared/notes/peers.md but for the text part and the headers).
const (
	benchTemplate = "call-to-action"
	benchPublic   = "https://outreach.example.org"
)

// mailTemplate names the template a round sends: a shipped one when dir
// is "", else one in the template root dir.
type mailTemplate struct{ name, dir string }

// shortTemplate is the -short template's files.
var shortTemplate = map[string]string{
	"en.subject": "{{.Contact.Organization}}: will you endorse the joint letter?\n",
	"en.txt": "Dear {{.Contact.Name}},\n\nPlease reply \"we endorse\" to add {{.Contact.Organization}} to the joint letter " +
		"urging ratification of the Optional Protocol to the ICESCR.\n\nUnsubscribe: {{.Delivery.UnsubscribeURL}}\n",
	"en.html": "<p>Dear {{.Contact.Name}},</p>\n<p>Please reply &ldquo;we endorse&rdquo; to add {{.Contact.Organization}} to the joint letter " +
		"urging ratification of the Optional Protocol to the ICESCR.</p>\n<p><a href=\"{{.Delivery.UnsubscribeURL}}\">Unsubscribe</a></p>\n",
}

// writeShortTemplate writes the -short template under root and returns it.
func writeShortTemplate(root string) (mailTemplate, error) {
	t := mailTemplate{name: "short", dir: root}
	if err := os.MkdirAll(filepath.Join(root, t.name), 0o700); err != nil {
		return t, err
	}
	for f, body := range shortTemplate {
		if err := os.WriteFile(filepath.Join(root, t.name, f), []byte(body), 0o600); err != nil {
			return t, err
		}
	}
	return t, nil
}

// push stores t in the daemon when it is not a shipped template.
func (t mailTemplate) push(ctx context.Context, d *daemon) error {
	if t.dir == "" {
		return nil
	}
	_, err := d.cli(ctx, "templates", "push", t.name, t.dir)
	return err
}

var benchLangs = []string{"en", "es", "fr", "pt"}

// partner returns the i-th generated partner of the outbox benchmark.
func partner(i int) outreach.Contact {
	return outreach.Contact{
		ID: uint64(i + 1), Email: fmt.Sprintf("p%07d@org%d.example", i, i%997), Name: fmt.Sprintf("Partner %07d", i),
		Organization: fmt.Sprintf("Organisation %d", i), Kind: outreach.KindPartner, Country: "MY",
		Language: benchLangs[i%len(benchLangs)], Status: outreach.StatusActive,
	}
}

func writePartnersCSV(path string, n int) error {
	var b bytes.Buffer
	b.WriteString("email,name,organization,kind,country,language\n")
	for i := range n {
		c := partner(i)
		fmt.Fprintf(&b, "%s,%s,%s,%s,%s,%s\n", c.Email, c.Name, c.Organization, c.Kind, c.Country, c.Language)
	}
	return os.WriteFile(path, b.Bytes(), 0o600)
}

// sideResult is one side's figures in one round.
type sideResult struct {
	Seconds    float64 `json:"seconds"`      // start call (or first dial) to the last message at the sink
	FirstLast  float64 `json:"first_last"`   // first to last message at the sink
	CPUSeconds float64 `json:"cpu_seconds"`  // sender process, over Seconds
	PeakBytes  int64   `json:"peak_bytes"`   // VmHWM of the sender process
	MsgBytes   float64 `json:"msg_bytes"`    // bytes per message on the wire (sample)
	StartCall  float64 `json:"start_call_s"` // outreach: the wave API call alone

	SyncMedian, SyncWorst time.Duration // outreach: fdatasync latency just before
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func outboxCmd(ctx context.Context, args []string, out io.Writer) error {
	fl := flag.NewFlagSet("outbox", flag.ContinueOnError)
	bin := fl.String("bin", "bin/outreach", "the outreach binary")
	n := fl.Int("n", 20000, "messages per side per round")
	conns := fl.Int("conns", 4, "SMTP connections, both sides")
	rounds := fl.Int("rounds", 3, "rounds, alternating which side goes first")
	short := fl.Bool("short", false, "send a one-paragraph template (about 1.6 KB on the wire) instead of the 8 KB call to action")
	if err := fl.Parse(args); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "outreach-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	csvPath := filepath.Join(tmp, "partners.csv")
	if err := writePartnersCSV(csvPath, *n); err != nil {
		return err
	}

	tpl := mailTemplate{name: benchTemplate}
	if *short {
		if tpl, err = writeShortTemplate(filepath.Join(tmp, "templates")); err != nil {
			return err
		}
	}

	fmt.Fprintf(out, "outbox vs bare go-mail: %d messages per side, %d connections, %d rounds, template %s, sink: in-process devmail keeping nothing\n", *n, *conns, *rounds, tpl.name)
	var bare, wave []sideResult
	for r := range *rounds {
		sides := []string{"bare", "outreach"}
		if r%2 == 1 {
			slices.Reverse(sides)
		}
		for _, side := range sides {
			var res sideResult
			var err error
			if side == "bare" {
				res, err = bareRound(ctx, self, tpl, *n, *conns)
				bare = append(bare, res)
			} else {
				res, err = waveRound(ctx, *bin, tpl, filepath.Join(tmp, fmt.Sprintf("data%d", r)), csvPath, *n, *conns)
				wave = append(wave, res)
			}
			if err != nil {
				return fmt.Errorf("round %d, %s: %w", r+1, side, err)
			}
			fmt.Fprintf(out, "  round %d %-8s %7.0f msg/s (first to last %7.0f)  CPU %4.0f µs/msg  peak %s",
				r+1, side, float64(*n)/res.Seconds, float64(*n)/res.FirstLast, 1e6*res.CPUSeconds/float64(*n), mib(res.PeakBytes))
			if side == "outreach" {
				fmt.Fprintf(out, "  (fdatasync before: median %.1f ms, worst %.1f ms)", ms(res.SyncMedian), ms(res.SyncWorst))
			}
			fmt.Fprintln(out)
		}
	}
	size, err := waveMessageSize(ctx, *bin, tpl, filepath.Join(tmp, "size"))
	if err != nil {
		return fmt.Errorf("message size: %w", err)
	}
	nf := float64(*n)
	rate := func(rs []sideResult, f func(sideResult) float64) []float64 {
		var v []float64
		for _, r := range rs {
			v = append(v, f(r))
		}
		return v
	}
	bareRate := rate(bare, func(r sideResult) float64 { return nf / r.Seconds })
	waveRate := rate(wave, func(r sideResult) float64 { return nf / r.Seconds })
	waveFL := rate(wave, func(r sideResult) float64 { return nf / r.FirstLast })
	var ratios, ratiosFL []float64
	for i := range bare {
		ratios = append(ratios, waveRate[i]/bareRate[i])
		ratiosFL = append(ratiosFL, waveFL[i]/bareRate[i])
	}
	cpu := func(rs []sideResult) []float64 {
		return rate(rs, func(r sideResult) float64 { return 1e6 * r.CPUSeconds / nf })
	}
	peak := func(rs []sideResult) []float64 {
		return rate(rs, func(r sideResult) float64 { return float64(r.PeakBytes) / (1 << 20) })
	}
	fmt.Fprintf(out, "  medians [min–max] over %d rounds:\n", *rounds)
	fmt.Fprintf(out, "  bare go-mail, %d conns:      %s msg/s; CPU %s µs/msg; peak %s MB (holds all %d prebuilt messages); %.0f bytes/msg\n",
		*conns, spread(bareRate, "%.0f"), spread(cpu(bare), "%.0f"), spread(peak(bare), "%.0f"), *n, bare[0].MsgBytes)
	fmt.Fprintf(out, "  outreach wave, %d conns:     %s msg/s from the start call (%s first to last); CPU %s µs/msg; daemon peak %s MB; %.0f bytes/msg\n",
		*conns, spread(waveRate, "%.0f"), spread(waveFL, "%.0f"), spread(cpu(wave), "%.0f"), spread(peak(wave), "%.0f"), size)
	fmt.Fprintf(out, "  start call (POST /api/v1/waves, enqueueing %d deliveries): %s s\n", *n, spread(rate(wave, func(r sideResult) float64 { return r.StartCall }), "%.2f"))
	fmt.Fprintf(out, "  RATIO outreach/bare: %s from the start call, %s first to last (aim: 0.80 or better)\n", spread(ratios, "%.2f"), spread(ratiosFL, "%.2f"))
	return nil
}

// spread formats the median of v and its range.
func spread(v []float64, format string) string {
	s := slices.Clone(v)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return fmt.Sprintf(format+" ["+format+"–"+format+"]", med, s[0], s[len(s)-1])
}

// bareRound runs `load bare` as a child process against a fresh sink.
func bareRound(ctx context.Context, self string, tpl mailTemplate, n, conns int) (sideResult, error) {
	sink, err := devmail.Start(ctx, devmail.Options{Keep: devmail.KeepNone})
	if err != nil {
		return sideResult{}, err
	}
	defer sink.Close()
	cmd := exec.CommandContext(ctx, self, "bare", "-addr", sink.Addr(), "-n", fmt.Sprint(n), "-conns", fmt.Sprint(conns),
		"-template", tpl.name, "-templates", tpl.dir)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return sideResult{}, fmt.Errorf("%v\n%s", err, stderr.String())
	}
	var res sideResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		return res, fmt.Errorf("bare said %q: %w", stdout.String(), err)
	}
	if got := sink.Count(); got != n {
		return res, fmt.Errorf("the sink received %d messages; want %d", got, n)
	}
	// BareSend times from its first dial: that is first to last.
	res.FirstLast = res.Seconds
	return res, nil
}

// firstArrival reports when the sink's first message arrives.
func firstArrival(ctx context.Context, sink *devmail.Server) <-chan time.Time {
	ch := make(chan time.Time, 1)
	go func() {
		if sink.Wait(ctx, 1) == nil {
			ch <- time.Now()
			return
		}
		ch <- time.Time{}
	}()
	return ch
}

// waveRound imports the partners into a fresh daemon (fsync on) and times
// one wave to all of them.
func waveRound(ctx context.Context, bin string, tpl mailTemplate, dir, csvPath string, n, conns int) (sideResult, error) {
	var res sideResult
	sink, err := devmail.Start(ctx, devmail.Options{Keep: devmail.KeepNone})
	if err != nil {
		return res, err
	}
	defer sink.Close()
	defer os.RemoveAll(dir)
	if res.SyncMedian, res.SyncWorst, err = syncLatency(filepath.Dir(dir), 50); err != nil {
		return res, err
	}
	d, err := startDaemon(ctx, bin, dir, append([]string{"OUTREACH_SMTP_URL=smtp://" + sink.Addr() + "?tls=none", fmt.Sprintf("OUTREACH_SMTP_CONNECTIONS=%d", conns)}, extraEnv()...)...)
	if err != nil {
		return res, err
	}
	defer d.stop()
	if _, err := d.cli(ctx, "contacts", "import", csvPath); err != nil {
		return res, err
	}
	if err := tpl.push(ctx, d); err != nil {
		return res, err
	}
	cl, err := d.client()
	if err != nil {
		return res, err
	}
	pid := d.cmd.Process.Pid
	first := firstArrival(ctx, sink)
	cpu0, err := procCPU(pid)
	if err != nil {
		return res, err
	}
	t0 := time.Now()
	var v service.WaveView
	if err := cl.JSON(ctx, http.MethodPost, "/api/v1/waves", nil, service.WaveInput{Name: "bench", Template: tpl.name, Filter: "kind = partner", At: "now"}, &v); err != nil {
		return res, fmt.Errorf("start the wave: %w", err)
	}
	res.StartCall = time.Since(t0).Seconds()
	wctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	if err := sink.Wait(wctx, n); err != nil {
		return res, fmt.Errorf("%w (%d arrived)\n%s", err, sink.Count(), d.logs)
	}
	t1 := time.Now()
	cpu1, err := procCPU(pid)
	if err != nil {
		return res, err
	}
	res.Seconds = t1.Sub(t0).Seconds()
	res.FirstLast = t1.Sub(<-first).Seconds()
	res.CPUSeconds = (cpu1 - cpu0).Seconds()
	if res.PeakBytes, _, err = procMem(pid); err != nil {
		return res, err
	}
	// The wave must end with every delivery sent, and no extra message.
	for {
		if err := cl.JSON(ctx, http.MethodGet, fmt.Sprintf("/api/v1/waves/%d", v.ID), nil, nil, &v); err != nil {
			return res, err
		}
		var k outreach.SendCounts
		for _, r := range v.Runs {
			k.Add(r.Counts)
		}
		if k.Pending() == 0 {
			if k.Sent != n || sink.Count() != n {
				return res, fmt.Errorf("wave ended with %d of %d sent, %d messages at the sink", k.Sent, n, sink.Count())
			}
			break
		}
		select {
		case <-wctx.Done():
			return res, fmt.Errorf("wave not recorded as done: %+v", k)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return res, d.stop()
}

// waveMessageSize sends a small wave to a sink that keeps its messages and
// returns their mean size in bytes.
func waveMessageSize(ctx context.Context, bin string, tpl mailTemplate, dir string) (float64, error) {
	const n = 40
	sink, err := devmail.Start(ctx, devmail.Options{Keep: n})
	if err != nil {
		return 0, err
	}
	defer sink.Close()
	defer os.RemoveAll(dir)
	d, err := startDaemon(ctx, bin, dir, "OUTREACH_SMTP_URL=smtp://"+sink.Addr()+"?tls=none")
	if err != nil {
		return 0, err
	}
	defer d.stop()
	csvPath := filepath.Join(dir, "size.csv")
	if err := writePartnersCSV(csvPath, n); err != nil {
		return 0, err
	}
	if _, err := d.cli(ctx, "contacts", "import", csvPath); err != nil {
		return 0, err
	}
	if err := tpl.push(ctx, d); err != nil {
		return 0, err
	}
	if _, err := d.cli(ctx, "waves", "add", "--name", "size", "--template", tpl.name, "--filter", "kind = partner", "--at", "now"); err != nil {
		return 0, err
	}
	wctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	if err := sink.Wait(wctx, n); err != nil {
		return 0, err
	}
	total := 0
	msgs := sink.Messages()
	for _, m := range msgs {
		total += len(m.Raw)
	}
	return float64(total) / float64(len(msgs)), nil
}

// bareCmd is the child side of bareRound: it builds n messages as the
// outbox does (same template, languages, headers and tokens), then sends
// them with smtpout.BareSend and prints a sideResult as JSON.
func bareCmd(ctx context.Context, args []string, out io.Writer) error {
	fl := flag.NewFlagSet("bare", flag.ContinueOnError)
	addr := fl.String("addr", "", "SMTP sink host:port")
	n := fl.Int("n", 20000, "messages")
	conns := fl.Int("conns", 4, "connections")
	tplName := fl.String("template", benchTemplate, "template to send")
	tplDir := fl.String("templates", "", "template root holding -template; empty: the shipped templates")
	if err := fl.Parse(args); err != nil {
		return err
	}
	msgs, size, err := buildMessages(*n, mailTemplate{name: *tplName, dir: *tplDir})
	if err != nil {
		return err
	}
	var ru0, ru1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	elapsed, err := smtpout.BareSend(ctx, *addr, *conns, msgs)
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	if err != nil {
		return err
	}
	hwm, _, err := procMem(os.Getpid())
	if err != nil {
		return err
	}
	cpu := time.Duration(ru1.Utime.Nano() - ru0.Utime.Nano() + ru1.Stime.Nano() - ru0.Stime.Nano())
	return json.NewEncoder(out).Encode(sideResult{Seconds: elapsed.Seconds(), CPUSeconds: cpu.Seconds(), PeakBytes: hwm, MsgBytes: size})
}

// buildMessages composes n wave messages the way the outbox engine does
// and returns them with their mean size on the wire (over a sample).
func buildMessages(n int, tpl mailTemplate) ([]*gomail.Msg, float64, error) {
	sub, err := fs.Sub(templates.Mail, "mail")
	if err != nil {
		return nil, 0, err
	}
	if tpl.dir != "" {
		sub = os.DirFS(tpl.dir)
	}
	set, err := render.Load(sub)
	if err != nil {
		return nil, 0, err
	}
	def := config.Default().Campaign
	camp := outreach.Campaign{ID: 1, Name: def.Name, From: def.From, ReplyTo: def.ReplyTo, DefaultLanguage: def.DefaultLanguage, PostalAddress: def.PostalAddress}
	tokens := outbox.NewTokens([]byte("bench-secret-bench-secret-bench-secret"))
	now := time.Now()
	msgs := make([]*gomail.Msg, n)
	var sample int64
	const sampleN = 50
	for i := range n {
		c := partner(i)
		tok := tokens.Token(uint64(i + 1))
		reply := outbox.ReplyAddress(camp.ReplyTo, tok)
		unsub := benchPublic + "/u/" + tok
		msgID := outbox.MessageID(tok, camp.ReplyTo)
		data := &render.Data{Contact: c, Campaign: camp, Wave: render.WaveInfo{Name: "bench"},
			Delivery: render.DeliveryInfo{ReplyTo: reply, UnsubscribeURL: unsub, MessageID: msgID}, Now: now}
		r, err := set.Render(tpl.name, data)
		if err != nil {
			return nil, 0, fmt.Errorf("render for %s: %w", c.Email, err)
		}
		m, err := goMailMsg(r, camp.From, c.Email, c.Name, reply, msgID, now, unsub)
		if err != nil {
			return nil, 0, fmt.Errorf("compose for %s: %w", c.Email, err)
		}
		if i < sampleN {
			w, err := m.WriteTo(io.Discard)
			if err != nil {
				return nil, 0, err
			}
			sample += w
		}
		msgs[i] = m
	}
	return msgs, float64(sample) / float64(min(n, sampleN)), nil
}

// goMailMsg builds with go-mail's Msg the message the outbox writes itself
// (render.Compose): same headers, multipart/alternative, UTF-8
// quoted-printable. render's tests check that the two give the same bytes.
func goMailMsg(r *render.Rendered, from, to, toName, reply, msgID string, date time.Time, unsub string) (*gomail.Msg, error) {
	m := gomail.NewMsg(gomail.WithNoDefaultUserAgent(), gomail.WithCharset(gomail.CharsetUTF8), gomail.WithEncoding(gomail.EncodingQP))
	if err := m.From(from); err != nil {
		return nil, err
	}
	if err := m.AddToFormat(toName, to); err != nil {
		return nil, err
	}
	if err := m.ReplyTo(reply); err != nil {
		return nil, err
	}
	if err := m.EnvelopeFrom(reply); err != nil {
		return nil, err
	}
	m.SetMessageIDWithValue(msgID)
	m.SetDateWithValue(date)
	m.Subject(r.Subject)
	m.SetGenHeader(gomail.HeaderListUnsubscribe, "<"+unsub+">, <mailto:"+reply+"?subject=unsubscribe>")
	m.SetGenHeader(gomail.HeaderListUnsubscribePost, "List-Unsubscribe=One-Click")
	m.SetBodyString(gomail.TypeTextPlain, r.Text)
	m.AddAlternativeString(gomail.TypeTextHTML, r.HTML)
	return m, nil
}

// extraEnv passes OUTREACH_OUTBOX_* settings and GOGC from the load
// program's environment to the daemon (e.g. OUTREACH_OUTBOX_IN_FLIGHT to
// try other windows).
func extraEnv() []string {
	var out []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "OUTREACH_OUTBOX_") || strings.HasPrefix(kv, "GOGC=") {
			out = append(out, kv)
		}
	}
	return out
}

package mailreply

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// walker visits the MIME tree of one message.
type walker struct {
	m          *Message
	report     string   // report-type of a multipart/report, "" if none
	statusBody [][]byte // bodies of message/(global-)delivery-status parts
	embeddedID string   // Message-ID of the first embedded message or header copy
	parts      int      // parts read from multiparts
	failed     bool     // a multipart could not be read to its end
}

// content is the readable text of an entity.
type content struct {
	text string
	html bool // text was converted from HTML
}

func (w *walker) entity(h textproto.Header, body io.Reader, depth int) content {
	if depth > maxDepth {
		return content{}
	}
	mt, params := contentType(h)
	disp := disposition(h)
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		return w.multipart(mt, params, body, depth)
	case mt == "message/delivery-status" || mt == "message/global-delivery-status":
		w.statusBody = append(w.statusBody, readLeaf(h, body))
		return content{}
	case mt == "text/rfc822-headers" || mt == "message/global-headers" || mt == "message/rfc822" || mt == "message/global":
		if mt == "message/rfc822" || mt == "message/global" {
			if w.report == "" {
				w.m.Attachments++
			}
		}
		w.embedded(readLeaf(h, body))
		return content{}
	case strings.HasPrefix(mt, "message/disposition-notification"), mt == "message/feedback-report":
		readLeaf(h, body)
		return content{}
	case disp == "attachment" || (mt != "text/plain" && mt != "text/html" && mt != "text/enriched"):
		w.m.Attachments++
		return content{}
	}
	if _, params := contentDisposition(h); params["filename"] != "" && disp != "inline" {
		w.m.Attachments++
		return content{}
	}
	text := decodeText(readLeaf(h, body), params["charset"])
	if mt == "text/html" {
		return content{text: htmlToText(text), html: true}
	}
	return content{text: text}
}

func (w *walker) multipart(mt string, params map[string]string, body io.Reader, depth int) content {
	if mt == "multipart/report" {
		rt := strings.ToLower(params["report-type"])
		if rt == "" {
			rt = "unknown"
		}
		if w.report == "" {
			w.report = rt
		}
	}
	boundary := params["boundary"]
	if boundary == "" {
		w.failed = true
		return content{}
	}
	mr := textproto.NewMultipartReader(body, boundary)
	var kids []content
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			w.failed = true
			break
		}
		w.parts++
		c := w.entity(p.Header, p, depth+1)
		if strings.TrimSpace(c.text) != "" {
			kids = append(kids, c)
		}
	}
	if len(kids) == 0 {
		return content{}
	}
	if mt == "multipart/alternative" {
		for _, k := range kids {
			if !k.html {
				return k
			}
		}
		return kids[len(kids)-1]
	}
	var b strings.Builder
	for i, k := range kids {
		if i > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(k.text)
	}
	return content{text: b.String(), html: kids[0].html}
}

// embedded records the Message-ID of an embedded message or header copy.
func (w *walker) embedded(b []byte) {
	if w.embeddedID != "" {
		return
	}
	h, _ := textproto.ReadHeader(bufio.NewReader(bytes.NewReader(cleanHeader(firstHeader(b)))))
	w.embeddedID = firstID(h.Get("Message-Id"))
}

// firstHeader returns the header block at the start of b.
func firstHeader(b []byte) []byte {
	b = bytes.TrimLeft(b, "\r\n")
	head, _ := splitHeader(b)
	return head
}

// readLeaf returns a leaf part's body with its Content-Transfer-Encoding
// undone; the charset is left to the caller. A body that fails to decode
// halfway yields what was decoded.
func readLeaf(h textproto.Header, body io.Reader) []byte {
	hh := message.Header{Header: textproto.Header{}}
	if cte := h.Get("Content-Transfer-Encoding"); cte != "" {
		hh.Set("Content-Transfer-Encoding", strings.TrimSpace(cte))
	}
	hh.Set("Content-Type", "application/octet-stream")
	e, err := message.New(hh, body)
	if err != nil {
		b, _ := io.ReadAll(body)
		return b
	}
	b, _ := io.ReadAll(e.Body)
	return b
}

// contentType parses Content-Type leniently: a header with duplicate or
// malformed parameters still yields its media type and the parameters that
// can be read. A missing header means text/plain (RFC 2045 section 5.2).
func contentType(h textproto.Header) (string, map[string]string) {
	v := h.Get("Content-Type")
	if strings.TrimSpace(v) == "" {
		return "text/plain", map[string]string{}
	}
	mt, params := parseParams(v)
	if mt == "" || !strings.Contains(mt, "/") {
		return "text/plain", params
	}
	return mt, params
}

func contentDisposition(h textproto.Header) (string, map[string]string) {
	return parseParams(h.Get("Content-Disposition"))
}

func disposition(h textproto.Header) string {
	d, _ := contentDisposition(h)
	return d
}

func parseParams(v string) (string, map[string]string) {
	mt, params, err := mime.ParseMediaType(v)
	if err == nil {
		return strings.ToLower(mt), params
	}
	params = map[string]string{}
	fields := strings.Split(v, ";")
	mt = strings.ToLower(strings.TrimSpace(fields[0]))
	for _, f := range fields[1:] {
		k, val, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = strings.Trim(strings.TrimSpace(val), `"`)
		if _, dup := params[k]; !dup && k != "" {
			params[k] = val
		}
	}
	return mt, params
}

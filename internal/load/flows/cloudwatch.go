package flows

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"

	"github.com/ringfence/ringfence/internal/load/document"
)

// cloudWatch reads flow log records kept in CloudWatch Logs, as JSON: a
// subscription payload (what a Lambda or Firehose subscriber receives,
// once base64-decoded and gunzipped: {"messageType": "DATA_MESSAGE",
// "logEvents": [{"id", "timestamp", "message"}]}), the output of `aws logs
// filter-log-events` or `get-log-events` ({"events": [{"logStreamName",
// "timestamp", "message", ...}]}), or an array of such events. Each
// event's message is one flow log record. The JSON is streamed event by
// event (encoding/json's tokenizer), so memory stays bounded.
type cloudWatch struct {
	dec   *json.Decoder
	lines *lineCounter
	// state: 0 before the top level, 1 in the top object, 2 in an events
	// array, 3 done.
	state   int
	topLine bool // the input is an array of events
	control bool // a CONTROL_MESSAGE (no log events)
	events  uint64
	layout  bool // the record layout is known
}

// lineCounter tells the line of a byte offset in a stream read once: it
// keeps the bytes between the last offset asked about and what the
// decoder has read ahead, never more.
type lineCounter struct {
	r    io.Reader
	kept []byte
	base int64 // offset of kept[0]
	line int   // line at base
}

func (c *lineCounter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.kept = append(c.kept, p[:n]...)
	return n, err
}

// at returns the line of an offset at or after the last one asked about.
func (c *lineCounter) at(off int64) int {
	k := int(off - c.base)
	if k > len(c.kept) {
		k = len(c.kept)
	}
	if k > 0 {
		c.line += bytes.Count(c.kept[:k], []byte{'\n'})
		c.kept = append(c.kept[:0], c.kept[k:]...)
		c.base += int64(k)
	}
	return c.line
}

func newCloudWatch(r io.Reader, firstLine int) *cloudWatch {
	lc := &lineCounter{r: r, line: firstLine}
	dec := json.NewDecoder(lc)
	dec.UseNumber()
	return &cloudWatch{dec: dec, lines: lc}
}

// cwEvent is one log event; only the message and time are read.
type cwEvent struct {
	Message   *string `json:"message"`
	Timestamp int64   `json:"timestamp"`
}

// cloudWatchNext fills rec with the next event's record.
func (r *Reader) cloudWatchNext(rec *Record) (bool, error) {
	c := r.cw
	for {
		switch c.state {
		case 0:
			tok, err := c.dec.Token()
			if err != nil {
				return false, r.jsonError(err)
			}
			switch tok {
			case json.Delim('{'):
				c.state = 1
			case json.Delim('['):
				c.state, c.topLine = 2, true
			default:
				return false, r.errorf(r.cwLine(), "not CloudWatch Logs JSON: want an object with logEvents or events")
			}
		case 1:
			if !c.dec.More() {
				if _, err := c.dec.Token(); err != nil {
					return false, r.jsonError(err)
				}
				c.state = 3
				continue
			}
			tok, err := c.dec.Token()
			if err != nil {
				return false, r.jsonError(err)
			}
			key, _ := tok.(string)
			switch key {
			case "logEvents", "events":
				tok, err := c.dec.Token()
				if err != nil {
					return false, r.jsonError(err)
				}
				if tok == nil {
					continue
				}
				if tok != json.Delim('[') {
					return false, r.errorf(r.cwLine(), "%s: want an array of log events", key)
				}
				c.state = 2
			default:
				var v json.RawMessage
				if err := c.dec.Decode(&v); err != nil {
					return false, r.jsonError(err)
				}
				if key == "messageType" && string(v) == `"CONTROL_MESSAGE"` {
					c.control = true
				}
			}
		case 2:
			if !c.dec.More() {
				if _, err := c.dec.Token(); err != nil {
					return false, r.jsonError(err)
				}
				c.state = 1
				if c.topLine {
					c.state = 3
				}
				continue
			}
			start := r.cwStart()
			var ev cwEvent
			if err := c.dec.Decode(&ev); err != nil {
				return false, r.jsonError(err)
			}
			c.events++
			r.line = start
			if ev.Message == nil {
				return false, r.errorf(r.line, "log event %d has no message", c.events)
			}
			line := bytes.TrimSpace([]byte(*ev.Message))
			if len(line) == 0 {
				r.skip("empty log events")
				continue
			}
			if !c.layout {
				layout, _, err := vpcHeader(line)
				if err != nil {
					return false, r.errorf(r.line, "log event %d: %v", c.events, err)
				}
				r.vpc, c.layout = layout, true
			}
			*rec = Record{Count: 1, Line: r.line}
			ok, err := r.vpcRecord(line, rec)
			if err != nil {
				var de *document.Error
				if errors.As(err, &de) && strings.Contains(de.Msg, "fields") {
					return false, r.errorf(r.line, "log event %d: %s (a custom format delivered to CloudWatch Logs has no header line there: give the flow log's format with --flow-log-format, as aws ec2 describe-flow-logs shows it)", c.events, de.Msg)
				}
				return false, err
			}
			if !ok {
				continue
			}
			if rec.Start == 0 && rec.End == 0 && ev.Timestamp > 0 {
				rec.Start, rec.End = ev.Timestamp/1000, ev.Timestamp/1000
			}
			return true, nil
		default:
			if c.control && r.records == 0 {
				return false, r.errorf(r.cwLine(), "a CloudWatch Logs subscription CONTROL_MESSAGE: it carries no log events")
			}
			return false, nil
		}
	}
}

func (r *Reader) cwLine() int { return max(1, r.cw.lines.at(r.cw.dec.InputOffset())) }

// cwStart is the line where the next value starts (after the separators
// the decoder has not consumed yet).
func (r *Reader) cwStart() int {
	line := r.cwLine()
	for _, b := range r.cw.lines.kept {
		switch b {
		case '\n':
			line++
		case ' ', '\t', '\r', ',':
		default:
			return line
		}
	}
	return line
}

func (r *Reader) jsonError(err error) error {
	if err == io.EOF {
		return r.errorf(r.cwLine(), "unexpected end of the CloudWatch Logs JSON")
	}
	return r.errorf(r.cwLine(), "CloudWatch Logs JSON: %v", err)
}

package indexer

import (
	"encoding/xml"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sluice-io/sluice/indexer/query"
	"github.com/sluice-io/sluice/indexer/store"
)

// s3Namespace is the XML namespace of S3 documents.
const s3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/"

// maxSearchKeys is the largest (and default) page of a bucket search, as
// for ListObjects.
const maxSearchKeys = 1000

// ListBucketResult is the answer to a bucket search: the ListObjects
// (version 1) or ListObjectsV2 (list-type=2) document, with the current
// objects matching the where clause.
type ListBucketResult struct {
	XMLName               xml.Name       `xml:"ListBucketResult"`
	Xmlns                 string         `xml:"xmlns,attr"`
	Name                  string         `xml:"Name"`
	Prefix                string         `xml:"Prefix"`
	Marker                *string        `xml:"Marker,omitempty"`
	NextMarker            string         `xml:"NextMarker,omitempty"`
	StartAfter            string         `xml:"StartAfter,omitempty"`
	ContinuationToken     string         `xml:"ContinuationToken,omitempty"`
	NextContinuationToken string         `xml:"NextContinuationToken,omitempty"`
	KeyCount              *int           `xml:"KeyCount,omitempty"`
	MaxKeys               int            `xml:"MaxKeys"`
	EncodingType          string         `xml:"EncodingType,omitempty"`
	IsTruncated           bool           `xml:"IsTruncated"`
	Contents              []ListContents `xml:"Contents"`
}

// ListContents is one object of a ListBucketResult.
type ListContents struct {
	Key          string `xml:"Key"`
	LastModified string `xml:"LastModified"`
	ETag         string `xml:"ETag"`
	Size         int64  `xml:"Size"`
	StorageClass string `xml:"StorageClass"`
}

// S3Error is an S3 error document.
type S3Error struct {
	XMLName      xml.Name `xml:"Error"`
	Code         string   `xml:"Code"`
	Message      string   `xml:"Message"`
	ArgumentName string   `xml:"ArgumentName,omitempty"`
	Position     *int     `xml:"Position,omitempty"`
}

func writeXML(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(xml.Header))
	_ = xml.NewEncoder(w).Encode(v)
}

func (h *handlers) failXML(w http.ResponseWriter, err error, arg string) {
	status, code, msg, pos := h.errorStatus(err)
	if status != http.StatusBadRequest {
		arg = ""
	}
	writeXML(w, status, S3Error{Code: code, Message: msg, ArgumentName: arg, Position: pos})
}

// bucketSearch answers GET /admin/index/buckets/{bucket}/search?search=...
// with a ListBucketResult of the bucket's current objects matching the
// where clause, in key order. Parameters as for ListObjects: max-keys,
// prefix, marker, encoding-type=url, and for ListObjectsV2 list-type=2,
// continuation-token, start-after. A malformed where clause is answered
// 400 InvalidArgument with the error's position.
func (h *handlers) bucketSearch(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	defer func() { h.metrics.QueryDuration.WithLabelValues("bucket_search").Observe(time.Since(start).Seconds()) }()
	bucket := r.PathValue("bucket")
	v := r.URL.Query()
	q, ok := v["search"]
	if !ok || len(q) != 1 || q[0] == "" {
		h.failXML(w, badParam("the search parameter must hold one where clause"), "search")
		return
	}
	where, err := query.Parse(q[0])
	if err != nil {
		h.failXML(w, err, "search")
		return
	}
	maxKeys := maxSearchKeys
	if s := v.Get("max-keys"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			h.failXML(w, badParam("max-keys must be a non-negative integer"), "max-keys")
			return
		}
		maxKeys = min(n, maxSearchKeys)
	}
	encode := v.Get("encoding-type")
	if encode != "" && encode != "url" {
		h.failXML(w, badParam("encoding-type must be url"), "encoding-type")
		return
	}
	v2 := v.Get("list-type") == "2"
	res := ListBucketResult{Xmlns: s3Namespace, Name: bucket, Prefix: v.Get("prefix"), MaxKeys: maxKeys, EncodingType: encode}
	after := ""
	if v2 {
		res.StartAfter = v.Get("start-after")
		after = res.StartAfter
		if tok := v.Get("continuation-token"); tok != "" {
			c, err := store.DecodeCursor(tok)
			if err != nil || c.Bucket != bucket {
				h.failXML(w, badParam("the continuation token is not valid"), "continuation-token")
				return
			}
			res.ContinuationToken, after = tok, c.Key
		}
	} else {
		m := v.Get("marker")
		res.Marker, after = &m, m
	}
	in := store.SearchInput{
		Scope: store.Scope{Buckets: []string{bucket}, Prefix: res.Prefix, Where: where},
		Limit: max(maxKeys, 1),
	}
	if after != "" {
		in.After = &store.Cursor{Bucket: bucket, Key: after}
	}
	var records []store.Record
	var next *store.Cursor
	if maxKeys > 0 {
		st, err := h.openStore()
		if err != nil {
			h.failXML(w, err, "")
			return
		}
		out, err := st.Search(r.Context(), in)
		if err != nil {
			h.failXML(w, err, "search")
			return
		}
		records, next = out.Records, out.Next
	}
	for _, rec := range records {
		key := rec.Key
		if encode == "url" {
			key = strings.ReplaceAll(url.QueryEscape(key), "+", "%20")
		}
		res.Contents = append(res.Contents, ListContents{
			Key:          key,
			LastModified: rec.LastModified.UTC().Format("2006-01-02T15:04:05.000Z"),
			ETag:         `"` + rec.ETag + `"`,
			Size:         rec.Size,
			StorageClass: storageClass(rec.Location),
		})
	}
	if next != nil {
		res.IsTruncated = true
		if v2 {
			res.NextContinuationToken = (&store.Cursor{Bucket: bucket, Key: next.Key}).Encode()
		} else {
			res.NextMarker = next.Key
			if encode == "url" {
				res.NextMarker = strings.ReplaceAll(url.QueryEscape(next.Key), "+", "%20")
			}
		}
	}
	if v2 {
		n := len(res.Contents)
		res.KeyCount = &n
	}
	writeXML(w, http.StatusOK, res)
}

// storageClass is the StorageClass shown for a location: Sluice's storage
// classes are location names; no location shows as STANDARD.
func storageClass(loc string) string {
	if loc == "" {
		return "STANDARD"
	}
	return loc
}

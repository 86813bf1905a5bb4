package canary

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"time"
)

// Document is a token's file: its name, media type and bytes.
type Document struct {
	Name        string
	ContentType string
	Data        []byte
}

// HasDocument reports whether a kind is a file to download.
func HasDocument(kind string) bool {
	switch kind {
	case DOCX, PDF, Env, GitConfig, AWSCredentials:
		return true
	}
	return false
}

// MakeDocument renders the file of a token of a document kind; url and
// host are its call-home URL and DNS name (host may be ""). The bytes
// differ on every call (ids, keys), the call-home does not.
func MakeDocument(kind, url, host string, now time.Time) (*Document, error) {
	switch kind {
	case DOCX:
		b, err := docx(url, now)
		return &Document{Name: "Q3-salary-review.docx", ContentType: "application/vnd.openxmlformats-officedocument.wordprocessingml.document", Data: b}, err
	case PDF:
		return &Document{Name: "network-diagram-2026.pdf", ContentType: "application/pdf", Data: pdf(url, now)}, nil
	case Env:
		return &Document{Name: ".env", ContentType: "text/plain; charset=utf-8", Data: envFile(url, host)}, nil
	case GitConfig:
		return &Document{Name: "config", ContentType: "text/plain; charset=utf-8", Data: gitConfig(url)}, nil
	case AWSCredentials:
		return &Document{Name: "credentials", ContentType: "text/plain; charset=utf-8", Data: awsCredentials(url, host)}, nil
	}
	return nil, fmt.Errorf("canary: kind %s has no document", kind)
}

func randText(alphabet string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

const alnum = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;").Replace(s)
}

// docx is a Word document whose header shows a linked picture: Word and
// LibreOffice fetch a linked image's URL when they open the file.
func docx(url string, now time.Time) ([]byte, error) {
	stamp := now.UTC().Add(-72 * time.Hour).Format("2006-01-02T15:04:05Z")
	files := []struct{ name, body string }{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/><Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/><Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/></Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`},
		{"docProps/core.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>Salary review Q3</dc:title><dc:creator>HR</dc:creator><cp:lastModifiedBy>HR</cp:lastModifiedBy><cp:revision>4</cp:revision><dcterms:created xsi:type="dcterms:W3CDTF">` + stamp + `</dcterms:created><dcterms:modified xsi:type="dcterms:W3CDTF">` + stamp + `</dcterms:modified></cp:coreProperties>`},
		{"docProps/app.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Application>Microsoft Office Word</Application><DocSecurity>0</DocSecurity><Pages>1</Pages><AppVersion>16.0000</AppVersion></Properties>`},
		{"word/_rels/document.xml.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId7" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="` + xmlEscape(url) + `" TargetMode="External"/></Relationships>`},
		{"word/document.xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships" xmlns:wp="http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture"><w:body>` +
			`<w:p><w:r><w:drawing><wp:inline distT="0" distB="0" distL="0" distR="0"><wp:extent cx="952500" cy="476250"/><wp:docPr id="1" name="Logo"/><a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture"><pic:pic><pic:nvPicPr><pic:cNvPr id="1" name="logo.png"/><pic:cNvPicPr/></pic:nvPicPr><pic:blipFill><a:blip r:link="rId7"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill><pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="952500" cy="476250"/></a:xfrm><a:prstGeom prst="rect"><a:avLst/></a:prstGeom></pic:spPr></pic:pic></a:graphicData></a:graphic></wp:inline></w:drawing></w:r></w:p>` +
			`<w:p><w:r><w:rPr><w:b/></w:rPr><w:t>Salary review Q3 - confidential</w:t></w:r></w:p>` +
			`<w:p><w:r><w:t>Adjustments agreed with the department heads. Do not forward.</w:t></w:r></w:p>` +
			`<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1417" w:right="1417" w:bottom="1134" w:left="1417" w:header="708" w:footer="708" w:gutter="0"/></w:sectPr></w:body></w:document>`},
	}
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	for _, f := range files {
		w, err := z.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: now.Add(-72 * time.Hour)})
		if err != nil {
			return nil, err
		}
		if _, err := w.Write([]byte(f.body)); err != nil {
			return nil, err
		}
	}
	err := z.Close()
	return buf.Bytes(), err
}

// pdfString escapes a PDF literal string.
func pdfString(s string) string {
	return "(" + strings.NewReplacer(`\`, `\\`, "(", `\(`, ")", `\)`, "\r", "", "\n", "").Replace(s) + ")"
}

// pdf is a one-page PDF that opens the URL when a reader opens it
// (/OpenAction /URI: readers that allow it fetch or ask first) and links
// it from the page.
func pdf(url string, now time.Time) []byte {
	content := "BT /F1 18 Tf 72 760 Td (Network diagram - internal) Tj ET BT /F1 11 Tf 72 730 Td (Core, DMZ and management VLANs; see the linked page for the current version.) Tj ET"
	id := hex.EncodeToString([]byte(randText(alnum, 16)))
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R /OpenAction 5 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 6 0 R /Annots [7 0 R] >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
		"<< /Type /Action /S /URI /URI " + pdfString(url) + " >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(content), content),
		"<< /Type /Annot /Subtype /Link /Rect [72 720 540 745] /Border [0 0 0] /A 5 0 R >>",
		"<< /Producer (Microsoft: Print To PDF) /CreationDate (D:" + now.UTC().Add(-48*time.Hour).Format("20060102150405") + "Z) >>",
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R /Info 8 0 R /ID [<%s> <%s>] >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, id, id, xref)
	return b.Bytes()
}

func envFile(url, host string) []byte {
	if host == "" {
		host = "db-replica.internal"
	}
	return []byte(fmt.Sprintf(`APP_NAME=billing
APP_ENV=production
APP_KEY=base64:%s=
APP_URL=https://billing.internal

DB_CONNECTION=pgsql
DB_HOST=%s
DB_PORT=5432
DB_DATABASE=billing
DB_USERNAME=billing_app
DB_PASSWORD=%s

PAYMENT_WEBHOOK_URL=%s
STRIPE_SECRET=sk_live_%s
`, randText(alnum, 43), host, randText(alnum, 20), url, randText(alnum, 24)))
}

func gitConfig(url string) []byte {
	return []byte(`[core]
	repositoryformatversion = 0
	filemode = true
	bare = false
	logallrefupdates = true
[remote "origin"]
	url = ` + url + `
	fetch = +refs/heads/*:refs/remotes/origin/*
[branch "main"]
	remote = origin
	merge = refs/heads/main
`)
}

// awsCredentials is a shared credentials file whose second profile talks
// to an S3-compatible endpoint at the token's host (or URL): the AWS
// CLI and SDKs resolve and call it when the profile is used.
func awsCredentials(url, host string) []byte {
	endpoint := url
	if host != "" {
		endpoint = "https://" + host
	}
	return []byte(fmt.Sprintf(`[default]
aws_access_key_id = AKIA%s
aws_secret_access_key = %s

[backup-archive]
aws_access_key_id = AKIA%s
aws_secret_access_key = %s
endpoint_url = %s
region = eu-central-1
`, randText("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16), randText(alnum+"+/", 40),
		randText("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16), randText(alnum+"+/", 40), endpoint))
}

package http

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// flavor is the web server a persona runs; every response, errors
// included, follows its header order, casing and pages.
type flavor int

const (
	nginx flavor = iota
	apache
	iis
)

func flavorOf(server string) flavor {
	s := strings.ToLower(server)
	switch {
	case strings.Contains(s, "apache"):
		return apache
	case strings.Contains(s, "iis"), strings.Contains(s, "microsoft"):
		return iis
	}
	return nginx
}

// response is what the server sends; header order is decided by the
// flavor at write time.
type response struct {
	status int
	ctype  string
	body   []byte
	extra  []Header // application headers (Set-Cookie, Location, WWW-Authenticate, ...)
	close  bool
	noBody bool // HEAD
	reason string
}

// site renders responses as one server product would.
type site struct {
	flavor   flavor
	server   string
	hostname string
	port     int
	extra    []Header // operator's extra_headers
	now      func() time.Time
}

func (p *site) reasonText(status int) string {
	if p.flavor == nginx {
		switch status {
		case 405:
			return "Not Allowed"
		case 414:
			return "Request-URI Too Large"
		case 503:
			return "Service Temporarily Unavailable"
		}
	}
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "Unknown"
}

// write renders the status line and headers in the flavor's order.
func (p *site) write(res *response, keepAlive bool) []byte {
	var b strings.Builder
	reason := res.reason
	if reason == "" {
		reason = p.reasonText(res.status)
	}
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\r\n", res.status, reason)
	date := p.now().UTC().Format(http.TimeFormat)
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	clen := strconv.Itoa(len(res.body))
	conn := func() {
		switch {
		case res.close || !keepAlive:
			h("Connection", "close")
		case p.flavor == apache:
			h("Keep-Alive", "timeout=5, max=100")
			h("Connection", "Keep-Alive")
		case p.flavor == nginx:
			h("Connection", "keep-alive")
		}
	}
	switch p.flavor {
	case apache:
		h("Date", date)
		h("Server", p.server)
		for _, x := range res.extra {
			h(x.Name, x.Value)
		}
		h("Content-Length", clen)
		conn()
		h("Content-Type", res.ctype)
	case iis:
		h("Content-Type", res.ctype)
		h("Server", p.server)
		for _, x := range res.extra {
			h(x.Name, x.Value)
		}
		h("X-Powered-By", "ASP.NET")
		h("Date", date)
		if res.close {
			h("Connection", "close")
		}
		h("Content-Length", clen)
	default:
		h("Server", p.server)
		h("Date", date)
		h("Content-Type", res.ctype)
		h("Content-Length", clen)
		// nginx writes Last-Modified before Connection, and the rest
		// (ETag, Accept-Ranges, Location, ...) after it.
		for _, x := range res.extra {
			if x.Name == "Last-Modified" {
				h(x.Name, x.Value)
			}
		}
		conn()
		for _, x := range res.extra {
			if x.Name != "Last-Modified" {
				h(x.Name, x.Value)
			}
		}
	}
	for _, x := range p.extra {
		h(x.Name, x.Value)
	}
	b.WriteString("\r\n")
	if !res.noBody {
		b.Write(res.body)
	}
	return []byte(b.String())
}

// errorPage is the server's own page for an error status.
func (p *site) errorPage(status int, method, path string) *response {
	res := &response{status: status, ctype: "text/html"}
	title := fmt.Sprintf("%d %s", status, p.reasonText(status))
	switch p.flavor {
	case apache:
		res.ctype = "text/html; charset=iso-8859-1"
		var msg string
		switch status {
		case 400:
			msg = "<p>Your browser sent a request that this server could not understand.<br />\n</p>\n"
		case 401:
			msg = "<p>This server could not verify that you\nare authorized to access the document\nrequested.  Either you supplied the wrong\ncredentials (e.g., bad password), or your\nbrowser doesn't understand how to supply\nthe credentials required.</p>\n"
		case 403:
			msg = "<p>You don't have permission to access this resource.</p>\n"
		case 404:
			msg = "<p>The requested URL was not found on this server.</p>\n"
		case 405:
			msg = fmt.Sprintf("<p>The requested method %s is not allowed for this URL.</p>\n", htmlEscape(method))
		case 501:
			msg = fmt.Sprintf("<p>%s not supported for current URL.<br />\n</p>\n", htmlEscape(method))
		case 503:
			msg = "<p>The server is temporarily unable to service your\nrequest due to maintenance downtime or capacity\nproblems. Please try again later.</p>\n"
		default:
			msg = "<p>The server encountered an internal error or\nmisconfiguration and was unable to complete\nyour request.</p>\n<p>Please contact the server administrator at \n webmaster@localhost to inform them of the time this error occurred,\n and the actions you performed just before this error.</p>\n<p>More information about this error may be available\nin the server error log.</p>\n"
		}
		res.body = fmt.Appendf(nil, "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>%s</title>\n</head><body>\n<h1>%s</h1>\n%s<hr>\n<address>%s Server at %s Port %d</address>\n</body></html>\n",
			title, p.reasonText(status), msg, p.server, p.hostname, p.port)
	case iis:
		if text, ok := httpSysErrors[status]; ok {
			// Malformed requests and overload never reach IIS:
			// http.sys answers them.
			res.ctype = "text/html; charset=us-ascii"
			res.body = fmt.Appendf(nil, "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\"\"http://www.w3.org/TR/html4/strict.dtd\">\r\n<HTML><HEAD><TITLE>%s</TITLE>\r\n<META HTTP-EQUIV=\"Content-Type\" Content=\"text/html; charset=us-ascii\"></HEAD>\r\n<BODY><h2>%s</h2>\r\n<hr><p>HTTP Error %d. %s</p>\r\n</BODY></HTML>\r\n",
				text[0], text[0], status, text[1])
			res.extra = nil
			return res
		}
		heading := map[int]string{401: "401 - Unauthorized: Access is denied due to invalid credentials.",
			403: "403 - Forbidden: Access is denied.", 404: "404 - File or directory not found.",
			405: "405 - HTTP verb used to access this page is not allowed.", 500: "500 - Internal server error."}[status]
		if heading == "" {
			heading = title
		}
		detail := map[int]string{401: "You do not have permission to view this directory or page using the credentials that you supplied.",
			403: "You do not have permission to view this directory or page using the credentials that you supplied.",
			404: "The resource you are looking for might have been removed, had its name changed, or is temporarily unavailable.",
			405: "The page you are looking for cannot be displayed because an invalid method (HTTP verb) was used to attempt access.",
			500: "There is a problem with the resource you are looking for, and it cannot be displayed."}[status]
		res.body = fmt.Appendf(nil, "<!DOCTYPE html PUBLIC \"-//W3C//DTD XHTML 1.0 Strict//EN\" \"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd\">\r\n<html xmlns=\"http://www.w3.org/1999/xhtml\">\r\n<head>\r\n<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\"/>\r\n<title>%s</title>\r\n<style type=\"text/css\">\r\n<!--\r\nbody{margin:0;font-size:.7em;font-family:Verdana, Arial, Helvetica, sans-serif;background:#EEEEEE;}\r\nfieldset{padding:0 15px 10px 15px;} \r\nh1{font-size:2.4em;margin:0;color:#FFF;}\r\nh2{font-size:1.7em;margin:0;color:#CC0000;} \r\nh3{font-size:1.2em;margin:10px 0 0 0;color:#000000;} \r\n#header{width:96%%;margin:0 0 0 0;padding:6px 2%% 6px 2%%;font-family:\"trebuchet MS\", Verdana, sans-serif;color:#FFF;\r\nbackground-color:#555555;}\r\n#content{margin:0 0 0 2%%;position:relative;}\r\n.content-container{background:#FFF;width:96%%;margin-top:8px;padding:10px;position:relative;}\r\n-->\r\n</style>\r\n</head>\r\n<body>\r\n<div id=\"header\"><h1>Server Error</h1></div>\r\n<div id=\"content\">\r\n <div class=\"content-container\"><fieldset>\r\n  <h2>%s</h2>\r\n  <h3>%s</h3>\r\n </fieldset></div>\r\n</div>\r\n</body>\r\n</html>\r\n",
			heading, heading, detail)
	default:
		if status == 494 {
			// nginx's own code for an oversized header, answered as a
			// 400 with its own page.
			res.status = 400
			res.body = fmt.Appendf(nil, "<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>Request Header Or Cookie Too Large</center>\r\n<hr><center>%s</center>\r\n</body>\r\n</html>\r\n", p.server)
			res.close = true
			return res
		}
		res.body = fmt.Appendf(nil, "<html>\r\n<head><title>%s</title></head>\r\n<body>\r\n<center><h1>%s</h1></center>\r\n<hr><center>%s</center>\r\n</body>\r\n</html>\r\n", title, title, p.server)
	}
	if status == 400 {
		res.close = true
	}
	return res
}

// httpSysErrors are the pages http.sys sends for IIS: title, sentence.
var httpSysErrors = map[int][2]string{
	400: {"Bad Request", "The request is badly formed."},
	503: {"Service Unavailable", "The service is unavailable."},
}

// indexPage is the server's default page.
func (p *site) indexPage() *response {
	res := &response{status: 200, ctype: "text/html"}
	switch p.flavor {
	case apache:
		res.body = []byte(apacheIndex)
		res.extra = []Header{{"Last-Modified", "Tue, 14 Mar 2023 09:12:41 GMT"}, {"ETag", `"29cd-5f6d8f5c8d0a0"`}, {"Accept-Ranges", "bytes"}, {"Vary", "Accept-Encoding"}}
	case iis:
		res.body = []byte(iisIndex)
		res.extra = []Header{{"Last-Modified", "Sat, 08 Jun 2024 11:22:31 GMT"}, {"Accept-Ranges", "bytes"}, {"ETag", `"c2a3b1e2a8b9da1:0"`}}
	default:
		res.body = []byte(NginxIndex)
		res.extra = []Header{{"Last-Modified", "Tue, 11 Apr 2023 01:45:34 GMT"}, {"ETag", `"6434bbbe-267"`}, {"Accept-Ranges", "bytes"}}
	}
	return res
}

func htmlEscape(s string) string {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;")
	return r.Replace(s)
}

// NginxIndex is Debian's nginx default page (the master's canary token
// listener answers / with it too).
const NginxIndex = `<!DOCTYPE html>
<html>
<head>
<title>Welcome to nginx!</title>
<style>
html { color-scheme: light dark; }
body { width: 35em; margin: 0 auto;
font-family: Tahoma, Verdana, Arial, sans-serif; }
</style>
</head>
<body>
<h1>Welcome to nginx!</h1>
<p>If you see this page, the nginx web server is successfully installed and
working. Further configuration is required.</p>

<p>For online documentation and support please refer to
<a href="http://nginx.org/">nginx.org</a>.<br/>
Commercial support is available at
<a href="http://nginx.com/">nginx.com</a>.</p>

<p><em>Thank you for using nginx.</em></p>
</body>
</html>
`

const apacheIndex = `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
  <head>
    <meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
    <title>Apache2 Default Page: It works</title>
  </head>
  <body>
    <div class="main_page">
      <div class="page_header floating_element">
        <span class="floating_element">
          Apache2 Default Page
        </span>
      </div>
      <div class="content_section floating_element">
        <div class="section_header section_header_red">
          <div id="about"></div>
          It works!
        </div>
        <div class="content_section_text">
          <p>
                This is the default welcome page used to test the correct 
                operation of the Apache2 server after installation on Debian systems.
                If you can read this page, it means that the Apache HTTP server installed at
                this site is working properly. You should <b>replace this file</b> (located at
                <tt>/var/www/html/index.html</tt>) before continuing to operate your HTTP server.
          </p>
        </div>
      </div>
    </div>
  </body>
</html>
`

const iisIndex = `<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">
<html xmlns="http://www.w3.org/1999/xhtml">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1" />
<title>IIS Windows Server</title>
<style type="text/css">
<!--
body {
	color:#000000;
	background-color:#0072C6;
	margin:0;
}

#container {
	margin-left:auto;
	margin-right:auto;
	text-align:center;
	}

a img {
	border:none;
}

-->
</style>
</head>
<body>
<div id="container">
<a href="http://go.microsoft.com/fwlink/?linkid=66138&amp;clcid=0x409"><img src="iisstart.png" alt="IIS" width="960" height="600" /></a>
</div>
</body>
</html>`

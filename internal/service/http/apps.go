package http

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/decnet/decnet/internal/event"
)

// The fake applications: real login forms whose submissions are captured
// and answered the way the application answers a wrong password.

const wpLogin = `<!DOCTYPE html>
<html lang="en-US">
<head>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8" />
<title>Log In &lsaquo; %[1]s &#8212; WordPress</title>
<meta name='robots' content='max-image-preview:large, noindex, noarchive' />
<link rel='stylesheet' id='login-css' href='/wp-admin/css/login.min.css?ver=6.4.3' media='all' />
</head>
<body class="login no-js login-action-login wp-core-ui  locale-en-us">
<div id="login">
<h1><a href="https://wordpress.org/">Powered by WordPress</a></h1>
%[2]s
<form name="loginform" id="loginform" action="/wp-login.php" method="post">
<p><label for="user_login">Username or Email Address</label>
<input type="text" name="log" id="user_login" class="input" value="%[3]s" size="20" autocapitalize="off" autocomplete="username" required="required" /></p>
<div class="user-pass-wrap"><label for="user_pass">Password</label>
<div class="wp-pwd"><input type="password" name="pwd" id="user_pass" class="input password-input" value="" size="20" autocomplete="current-password" spellcheck="false" required="required" /></div></div>
<p class="forgetmenot"><input name="rememberme" type="checkbox" id="rememberme" value="forever"  /> <label for="rememberme">Remember Me</label></p>
<p class="submit"><input type="submit" name="wp-submit" id="wp-submit" class="button button-primary button-large" value="Log In" />
<input type="hidden" name="redirect_to" value="/wp-admin/" /><input type="hidden" name="testcookie" value="1" /></p>
</form>
<p id="nav"><a href="/wp-login.php?action=lostpassword">Lost your password?</a></p>
</div>
</body>
</html>
`

const pmaLogin = `<!DOCTYPE HTML>
<html lang="en" dir="ltr">
<head>
<meta charset="utf-8">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex,nofollow">
<title>phpMyAdmin</title>
<link rel="stylesheet" type="text/css" href="./themes/pmahomme/css/theme.css?v=5.2.1">
</head>
<body id="loginform">
<div class="container">
<a href="./url.php?url=https%%3A%%2F%%2Fwww.phpmyadmin.net%%2F" target="_blank" rel="noopener noreferrer" class="logo"><img src="./themes/pmahomme/img/logo_right.png" id="imLogo" name="imLogo" alt="phpMyAdmin" border="0"></a>
<h1>Welcome to <bdo dir="ltr" lang="en">phpMyAdmin</bdo></h1>
%s
<form method="post" id="login_form" action="index.php?route=/" name="login_form" class="disableAjax hide js-show">
<fieldset class="pma-fieldset"><legend>Log in</legend>
<div class="item"><label for="input_username">Username:</label><input type="text" name="pma_username" id="input_username" value="" size="24" class="textfield" autocomplete="username"></div>
<div class="item"><label for="input_password">Password:</label><input type="password" name="pma_password" id="input_password" value="" size="24" class="textfield" autocomplete="current-password"></div>
<input type="hidden" name="server" value="1">
</fieldset>
<fieldset class="pma-fieldset tblFooters"><input class="btn btn-primary" value="Log in" type="submit" id="input_go"></fieldset>
</form>
</div>
</body>
</html>
`

const adminLogin = `<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Administration - Sign in</title></head>
<body>
<div class="login-box">
<h2>Administration</h2>
%s
<form method="post" action="/login">
<label>Username <input type="text" name="username" autocomplete="username"></label>
<label>Password <input type="password" name="password" autocomplete="current-password"></label>
<button type="submit">Sign in</button>
</form>
</div>
</body>
</html>
`

const jenkinsLogin = `<!DOCTYPE html><html><head resURL="/static/a1b2c3d4"><title>Sign in [Jenkins]</title><meta name="ROOT" content=""></head><body><div id="main-panel"><div class="simple-page" role="main"><div class="modal login"><div id="loginIntroDefault"><h1>Welcome to Jenkins!</h1></div>%s<form method="post" name="login" action="j_spring_security_check"><div class="jenkins-form-item"><input autocorrect="off" autocomplete="off" name="j_username" id="j_username" placeholder="Username" type="text" autofocus="autofocus" class="jenkins-input normal" autocapitalize="off" aria-label="Username"></div><div class="jenkins-form-item"><input name="j_password" placeholder="Password" type="password" class="jenkins-input normal" aria-label="Password"></div><button type="submit" name="Submit" class="jenkins-button jenkins-button--primary">Sign in</button></form></div></div></div></body></html>`

var xmlrpcString = regexp.MustCompile(`(?s)<string>(.*?)</string>`)

// route answers a request. It returns the response, the application and
// route names for the event, and any credential the request carried.
func (s *server) route(req *Request, cs *connState) (*response, string, *event.Credential, []string) {
	path := strings.ToLower(req.Path)
	cred := credentialFromHeader(req, cs.nonce)
	var formFields []string
	if req.Method == "POST" {
		if c, names := credentialFromForm(req); c != nil {
			cred, formFields = c, names
		}
	}
	html := func(status int, body string) *response {
		return &response{status: status, ctype: "text/html; charset=UTF-8", body: []byte(body)}
	}
	switch s.app {
	case "wordpress":
		switch {
		case path == "/wp-login.php":
			if req.Method == "POST" && cred != nil {
				msg := fmt.Sprintf(`<div id="login_error" class="notice notice-error"><p><strong>Error:</strong> The password you entered for the username <strong>%s</strong> is incorrect. <a href="/wp-login.php?action=lostpassword">Lost your password?</a></p></div>`, htmlEscape(cred.Principal))
				if !strings.Contains(cred.Principal, "@") && cred.Principal == "" {
					msg = `<div id="login_error" class="notice notice-error"><p><strong>Error:</strong> The username field is empty.</p></div>`
				}
				res := html(200, fmt.Sprintf(wpLogin, htmlEscape(s.site.hostname), msg, htmlEscape(cred.Principal)))
				res.extra = []Header{{"Set-Cookie", "wordpress_test_cookie=WP%20Cookie%20check; path=/"}}
				return res, "wordpress", cred, formFields
			}
			res := html(200, fmt.Sprintf(wpLogin, htmlEscape(s.site.hostname), "", ""))
			res.extra = []Header{{"Set-Cookie", "wordpress_test_cookie=WP%20Cookie%20check; path=/"}}
			return res, "wordpress", cred, formFields
		case strings.HasPrefix(path, "/wp-admin"):
			return &response{status: 302, ctype: "text/html; charset=UTF-8", extra: []Header{{"Location", "/wp-login.php?redirect_to=%2Fwp-admin%2F&reauth=1"}}}, "wordpress", cred, formFields
		case path == "/xmlrpc.php" && req.Method == "POST":
			// wp.getUsersBlogs is how brute forcers try passwords in bulk.
			if m := xmlrpcString.FindAllSubmatch(req.Body, 3); strings.Contains(string(req.Body), "wp.getUsersBlogs") && len(m) >= 2 {
				cred = event.NewCredential("plaintext", "xmlrpc", string(m[0][1]), m[1][1], true)
			}
			return &response{status: 200, ctype: "text/xml; charset=UTF-8", body: []byte(`<?xml version="1.0" encoding="UTF-8"?>
<methodResponse>
  <fault>
    <value>
      <struct>
        <member>
          <name>faultCode</name>
          <value><int>403</int></value>
        </member>
        <member>
          <name>faultString</name>
          <value><string>Incorrect username or password.</string></value>
        </member>
      </struct>
    </value>
  </fault>
</methodResponse>
`)}, "wordpress", cred, formFields
		}
	case "phpmyadmin":
		if path == "/phpmyadmin" || path == "/pma" {
			return &response{status: 301, ctype: "text/html", extra: []Header{{"Location", req.Path + "/"}}}, "phpmyadmin", cred, formFields
		}
		if strings.HasPrefix(path, "/phpmyadmin/") || strings.HasPrefix(path, "/pma/") || path == "/index.php" {
			msg := ""
			if req.Method == "POST" && cred != nil {
				msg = fmt.Sprintf(`<div class="alert alert-danger" role="alert"><img src="themes/dot.gif" title="" alt="" class="icon ic_s_error"> mysqli::real_connect(): (HY000/1045): Access denied for user '%s'@'localhost' (using password: YES)</div>`, htmlEscape(cred.Principal))
			}
			res := html(200, fmt.Sprintf(pmaLogin, msg))
			res.extra = []Header{{"Set-Cookie", "phpMyAdmin=" + cs.cookie + "; path=/phpmyadmin/; HttpOnly; SameSite=Strict"}}
			return res, "phpmyadmin", cred, formFields
		}
	case "admin_panel":
		switch {
		case path == "/login" || path == "/admin/login":
			msg := ""
			if req.Method == "POST" && cred != nil {
				msg = `<p class="error">Invalid username or password.</p>`
			}
			return html(200, fmt.Sprintf(adminLogin, msg)), "admin_panel", cred, formFields
		case strings.HasPrefix(path, "/admin"):
			// Digest with a fresh nonce per connection: the answer is
			// crackable (hashcat 11400).
			return &response{status: 401, ctype: "text/html", extra: []Header{{"WWW-Authenticate",
				fmt.Sprintf(`Digest realm="Administration", qop="auth", algorithm=MD5, nonce="%s"`, cs.nonce)}}, body: s.site.errorPage(401, req.Method, req.Path).body}, "admin_panel", cred, formFields
		}
	case "tomcat":
		if strings.HasPrefix(path, "/manager") || strings.HasPrefix(path, "/host-manager") {
			res := s.site.errorPage(401, req.Method, req.Path)
			res.extra = []Header{{"WWW-Authenticate", `Basic realm="Tomcat Manager Application"`}}
			return res, "tomcat", cred, formFields
		}
	case "jenkins":
		switch {
		case path == "/login":
			return html(200, fmt.Sprintf(jenkinsLogin, "")), "jenkins", cred, formFields
		case path == "/j_spring_security_check":
			return &response{status: 302, ctype: "text/html", extra: []Header{{"Location", "/loginError"}}}, "jenkins", cred, formFields
		case path == "/loginerror":
			return html(401, fmt.Sprintf(jenkinsLogin, `<div class="app-sign-in-register__error">Invalid username or password</div>`)), "jenkins", cred, formFields
		}
	}
	if path == "/" || path == "/index.html" {
		if s.customBody != nil || s.rootStatus != 200 {
			body := s.customBody
			if body == nil {
				body = s.site.errorPage(s.rootStatus, req.Method, req.Path).body
			}
			return &response{status: s.rootStatus, ctype: "text/html", body: body}, "", cred, formFields
		}
		if req.Method == "GET" || req.Method == "HEAD" || (req.Method == "POST" && s.site.flavor == apache) {
			return s.site.indexPage(), "", cred, formFields
		}
	}
	if res := s.file(req); res != nil {
		return res, "files", cred, formFields
	}
	if cred != nil && req.Get("Authorization") != "" {
		return s.site.errorPage(401, req.Method, req.Path), "", cred, formFields
	}
	return s.site.errorPage(404, req.Method, req.Path), "", cred, formFields
}

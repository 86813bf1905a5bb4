package ftp

import "strings"

// server identifies the FTP daemon a persona runs.
type server struct {
	product string // vsftpd or proftpd
	version string
}

// servers maps a distro slug to the FTP daemon its administrators would
// install from its repositories.
var servers = map[string]server{
	"debian":   {"vsftpd", "3.0.3"},
	"ubuntu22": {"vsftpd", "3.0.5"},
	"ubuntu20": {"vsftpd", "3.0.3"},
	"rocky9":   {"vsftpd", "3.0.5"},
	"centos7":  {"vsftpd", "3.0.2"},
	"alpine":   {"vsftpd", "3.0.5"},
	"fedora":   {"vsftpd", "3.0.5"},
	"kali":     {"vsftpd", "3.0.3"},
	"arch":     {"vsftpd", "3.0.5"},
}

// proftpdVersions are what a "ProFTPD" banner implies per distro.
var proftpdVersions = map[string]string{
	"debian": "1.3.8", "ubuntu22": "1.3.7c", "ubuntu20": "1.3.6c", "rocky9": "1.3.8b", "centos7": "1.3.5e",
}

// reply keys: one text per server for every situation the session answers.
const (
	rUser = iota
	rUserAnon
	rPassNoUser
	rLoginOK
	rLoginOKAnon
	rLoginBad
	rNeedLogin
	rPwd
	rCwdOK
	rCwdBad
	rTypeI
	rTypeA
	rTypeBad
	rPortOK
	rEprtOK
	rPortBad
	rNoData
	rDataFail
	rListStart
	rListDone
	rRetrStart
	rXferDone
	rRetrBad
	rStorStart
	rStorBad
	rSizeBad
	rNoop
	rUnknown
	rQuit
	rAlreadyIn
	rUserAfterLogin
	rAbor
	rMkdBad
	rDeleOK
	rDeleBad
	rRnfrBad
	rRntoBad
	rRest
	rMode
	rStru
	rAllo
	rSiteBad
	rOptsUTF8
	rOptsBad
	rPermDenied
	rNum
)

var vsftpdReplies = [rNum]string{
	rUser:           "331 Please specify the password.",
	rUserAnon:       "331 Please specify the password.",
	rPassNoUser:     "503 Login with USER first.",
	rLoginOK:        "230 Login successful.",
	rLoginOKAnon:    "230 Login successful.",
	rLoginBad:       "530 Login incorrect.",
	rNeedLogin:      "530 Please login with USER and PASS.",
	rPwd:            `257 "%s" is the current directory`,
	rCwdOK:          "250 Directory successfully changed.",
	rCwdBad:         "550 Failed to change directory.",
	rTypeI:          "200 Switching to Binary mode.",
	rTypeA:          "200 Switching to ASCII mode.",
	rTypeBad:        "500 Unrecognised TYPE command.",
	rPortOK:         "200 PORT command successful. Consider using PASV.",
	rEprtOK:         "200 EPRT command successful. Consider using EPSV.",
	rPortBad:        "500 Illegal PORT command.",
	rNoData:         "425 Use PORT or PASV first.",
	rDataFail:       "425 Failed to establish connection.",
	rListStart:      "150 Here comes the directory listing.",
	rListDone:       "226 Directory send OK.",
	rRetrStart:      "150 Opening %s mode data connection for %s (%d bytes).",
	rXferDone:       "226 Transfer complete.",
	rRetrBad:        "550 Failed to open file.",
	rStorStart:      "150 Ok to send data.",
	rStorBad:        "553 Could not create file.",
	rSizeBad:        "550 Could not get file size.",
	rNoop:           "200 NOOP ok.",
	rUnknown:        "500 Unknown command.",
	rQuit:           "221 Goodbye.",
	rAlreadyIn:      "230 Already logged in.",
	rUserAfterLogin: "530 Can't change to another user.",
	rAbor:           "225 No transfer to ABOR.",
	rMkdBad:         "550 Create directory operation failed.",
	rDeleOK:         "250 Delete operation successful.",
	rDeleBad:        "550 Delete operation failed.",
	rRnfrBad:        "550 RNFR command failed.",
	rRntoBad:        "503 RNFR required first.",
	rRest:           "350 Restart position accepted (%d).",
	rMode:           "200 Mode set to S.",
	rStru:           "200 Structure set to F.",
	rAllo:           "202 ALLO command ignored.",
	rSiteBad:        "500 Unknown SITE command.",
	rOptsUTF8:       "200 Always in UTF8 mode.",
	rOptsBad:        "501 Option not understood.",
	rPermDenied:     "550 Permission denied.",
}

var proftpdReplies = [rNum]string{
	rUser:           "331 Password required for %s",
	rUserAnon:       "331 Anonymous login ok, send your complete email address as your password",
	rPassNoUser:     "503 Login with USER first",
	rLoginOK:        "230 User %s logged in",
	rLoginOKAnon:    "230 Anonymous access granted, restrictions apply",
	rLoginBad:       "530 Login incorrect.",
	rNeedLogin:      "530 Please login with USER and PASS",
	rPwd:            `257 "%s" is the current directory`,
	rCwdOK:          "250 CWD command successful",
	rCwdBad:         "550 %s: No such file or directory",
	rTypeI:          "200 Type set to I",
	rTypeA:          "200 Type set to A",
	rTypeBad:        "504 TYPE not implemented for '%s' parameter",
	rPortOK:         "200 PORT command successful",
	rEprtOK:         "200 EPRT command successful",
	rPortBad:        "500 Illegal PORT command",
	rNoData:         "425 Unable to build data connection: Connection refused",
	rDataFail:       "425 Unable to build data connection: Connection timed out",
	rListStart:      "150 Opening ASCII mode data connection for file list",
	rListDone:       "226 Transfer complete",
	rRetrStart:      "150 Opening %s mode data connection for %s (%d bytes)",
	rXferDone:       "226 Transfer complete",
	rRetrBad:        "550 %s: No such file or directory",
	rStorStart:      "150 Opening BINARY mode data connection for %s",
	rStorBad:        "550 %s: Permission denied",
	rSizeBad:        "550 %s: No such file or directory",
	rNoop:           "200 NOOP command successful",
	rUnknown:        "500 %s not understood",
	rQuit:           "221 Goodbye.",
	rAlreadyIn:      "503 You are already logged in",
	rUserAfterLogin: "503 You are already logged in",
	rAbor:           "226 Abort successful",
	rMkdBad:         "550 %s: Permission denied",
	rDeleOK:         "250 DELE command successful",
	rDeleBad:        "550 %s: No such file or directory",
	rRnfrBad:        "550 %s: No such file or directory",
	rRntoBad:        "503 Bad sequence of commands",
	rRest:           "350 Restarting at %d. Send STORE or RETRIEVE to initiate transfer",
	rMode:           "200 Mode set to S",
	rStru:           "200 Structure set to F",
	rAllo:           "202 No storage allocation necessary",
	rSiteBad:        "500 'SITE %s' not understood",
	rOptsUTF8:       "200 UTF8 set to on",
	rOptsBad:        "501 OPTS: %s not understood",
	rPermDenied:     "550 %s: Permission denied",
}

func (s server) replies() *[rNum]string {
	if s.product == "proftpd" {
		return &proftpdReplies
	}
	return &vsftpdReplies
}

func (s server) feat() string {
	if s.product == "proftpd" {
		return "211-Features:\r\n CLNT\r\n EPRT\r\n EPSV\r\n HOST\r\n LANG en-US*\r\n MDTM\r\n MFF modify;UNIX.group;UNIX.mode;\r\n MFMT\r\n" +
			" MLST modify*;perm*;size*;type*;unique*;UNIX.group*;UNIX.groupname*;UNIX.mode*;UNIX.owner*;UNIX.ownername*;\r\n" +
			" REST STREAM\r\n SIZE\r\n TVFS\r\n UTF8\r\n211 End\r\n"
	}
	return "211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n211 End\r\n"
}

func (s server) help() string {
	if s.product == "proftpd" {
		return "214-The following commands are recognized (* =>'s unimplemented):\r\n" +
			" CWD     XCWD    CDUP    XCUP    SMNT*   QUIT    PORT    PASV    \r\n" +
			" EPRT    EPSV    ALLO*   RNFR    RNTO    DELE    MDTM    RMD     \r\n" +
			" XRMD    MKD     XMKD    PWD     XPWD    SIZE    SYST    HELP    \r\n" +
			" NOOP    FEAT    OPTS    HOST    CLNT    AUTH*   CCC*    CONF*   \r\n" +
			" ENC*    MIC*    PBSZ*   PROT*   TYPE    STRU    MODE    RETR    \r\n" +
			" STOR    STOU    APPE    REST    ABOR    RANG    USER    PASS    \r\n" +
			" ACCT*   REIN*   LIST    NLST    STAT    SITE    MLSD    MLST    \r\n" +
			"214 Direct comments to root@localhost\r\n"
	}
	return "214-The following commands are recognized.\r\n" +
		" ABOR ACCT ALLO APPE CDUP CWD  DELE EPRT EPSV FEAT HELP LIST MDTM MKD\r\n" +
		" MODE NLST NOOP OPTS PASS PASV PORT PWD  QUIT REIN REST RETR RMD  RNFR\r\n" +
		" RNTO SITE SIZE SMNT STAT STOR STOU STRU SYST TYPE USER XCUP XCWD XMKD\r\n" +
		" XPWD XRMD\r\n214 Help OK.\r\n"
}

// preLogin reports whether the server answers verb before a login.
func (s server) preLogin(verb string) bool {
	switch verb {
	case "USER", "PASS", "QUIT", "FEAT", "OPTS":
		return true
	case "SYST", "HELP", "NOOP":
		return s.product == "proftpd"
	}
	return false
}

func isProFTPD(banner string) bool { return strings.Contains(strings.ToLower(banner), "proftpd") }

package topology

import (
	"errors"
	"fmt"
	"strings"
)

// Code is a stable validation code. Codes never change meaning; the API,
// the dashboard and scripts match on them.
type Code string

// Validation codes.
const (
	NameInvalid          Code = "NAME_INVALID"
	SeedMissing          Code = "SEED_MISSING"
	DMZMissing           Code = "DMZ_MISSING"
	DMZMultiple          Code = "DMZ_MULTIPLE"
	DMZOrphan            Code = "DMZ_ORPHAN"
	DeckyOrphan          Code = "DECKY_ORPHAN"
	LANNameDup           Code = "LAN_NAME_DUP"
	DeckyNameDup         Code = "DECKY_NAME_DUP"
	DriverUnknown        Code = "DRIVER_UNKNOWN"
	ParentMissing        Code = "PARENT_MISSING"
	SubnetMalformed      Code = "SUBNET_MALFORMED"
	SubnetOverlap        Code = "SUBNET_OVERLAP"
	GatewayMalformed     Code = "GATEWAY_MALFORMED"
	GatewayOutOfSubnet   Code = "GATEWAY_OUT_OF_SUBNET"
	IPUnknownLAN         Code = "IP_UNKNOWN_LAN"
	IPOutOfSubnet        Code = "IP_OUT_OF_SUBNET"
	IPMalformed          Code = "IP_MALFORMED"
	IPCollision          Code = "IP_COLLISION"
	IPReserved           Code = "IP_RESERVED"
	AddressLANDup        Code = "ADDRESS_LAN_DUP"
	GatewayNotInDMZ      Code = "GATEWAY_NOT_IN_DMZ"
	ServicesEmpty        Code = "SERVICES_EMPTY"
	ServiceDup           Code = "SERVICE_DUP"
	UnknownService       Code = "UNKNOWN_SERVICE"
	ServiceCfgUndeclared Code = "SERVICE_CFG_UNDECLARED"
	ServiceCfgUnknownKey Code = "SERVICE_CFG_UNKNOWN_KEY"
	ServiceCfgInvalid    Code = "SERVICE_CFG_INVALID"
	PortClash            Code = "PORT_CLASH"
	CustomInvalid        Code = "CUSTOM_SERVICE_INVALID"
	PersonaOSUnknown     Code = "PERSONA_OS_UNKNOWN"
	PersonaDistroUnknown Code = "PERSONA_DISTRO_UNKNOWN"
	PersonaDistroOS      Code = "PERSONA_DISTRO_OS"
	PersonaArchetype     Code = "PERSONA_ARCHETYPE_UNKNOWN"
	PersonaArchetypeOS   Code = "PERSONA_ARCHETYPE_OS"
	PersonaServiceOS     Code = "PERSONA_SERVICE_OS"
	PersonaBannerOS      Code = "PERSONA_BANNER_OS"
	PersonaTooManyPorts  Code = "PERSONA_TOO_MANY_PORTS"
	ServiceNotImpl       Code = "SERVICE_NOT_IMPLEMENTED"
	LANSharedMAC         Code = "LAN_SHARED_MAC"
	HostLANDriver        Code = "HOST_LAN_DRIVER"
	BaitInvalid          Code = "BAIT_INVALID"
	HostSubnetNotLocal   Code = "HOST_SUBNET_NOT_LOCAL"
	LiveInvalid          Code = "LIVE_INVALID"
)

// Severity says whether an issue blocks a deploy.
type Severity string

// The severities.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
)

// Ref names the object an issue points at, so the dashboard can mark it.
type Ref struct {
	Kind    string `json:"kind"` // topology, lan, decky, service, custom_service
	Name    string `json:"name,omitempty"`
	Decky   string `json:"decky,omitempty"`   // for kind service
	Key     string `json:"key,omitempty"`     // a config key, for kind service
	Address int    `json:"address,omitempty"` // 1-based index in a decky's addresses
}

func (r Ref) String() string {
	var b strings.Builder
	switch r.Kind {
	case "service":
		fmt.Fprintf(&b, "decky %s service %s", r.Decky, r.Name)
		if r.Key != "" {
			fmt.Fprintf(&b, " key %s", r.Key)
		}
	default:
		b.WriteString(r.Kind)
		if r.Name != "" {
			b.WriteString(" " + r.Name)
		}
		if r.Address > 0 {
			fmt.Fprintf(&b, " address %d", r.Address)
		}
	}
	return b.String()
}

// Issue is one validation finding.
type Issue struct {
	Severity Severity `json:"severity"`
	Code     Code     `json:"code"`
	Message  string   `json:"message"`
	Object   Ref      `json:"object"`
}

func (i Issue) String() string {
	return fmt.Sprintf("%s %s (%s): %s", i.Severity, i.Code, i.Object, i.Message)
}

// ErrInvalid is matched by the error of a report with errors.
var ErrInvalid = errors.New("invalid topology")

// IssueError is one error-severity issue as an error.
type IssueError struct{ Issue Issue }

func (e *IssueError) Error() string {
	return fmt.Sprintf("%s (%s): %s", e.Issue.Code, e.Issue.Object, e.Issue.Message)
}

// Is makes every IssueError match ErrInvalid.
func (e *IssueError) Is(target error) bool { return target == ErrInvalid }

// Report is the result of a validation: every issue found, errors first.
type Report struct {
	Issues []Issue `json:"issues"`
}

// Errors returns the error-severity issues.
func (r *Report) Errors() []Issue { return r.filter(Error) }

// Warnings returns the warning-severity issues.
func (r *Report) Warnings() []Issue { return r.filter(Warning) }

func (r *Report) filter(s Severity) []Issue {
	var out []Issue
	for _, i := range r.Issues {
		if i.Severity == s {
			out = append(out, i)
		}
	}
	return out
}

// Has reports whether an issue with the code was found.
func (r *Report) Has(c Code) bool {
	for _, i := range r.Issues {
		if i.Code == c {
			return true
		}
	}
	return false
}

// Err returns nil when there is no error-severity issue, else all of them
// joined; each matches ErrInvalid.
func (r *Report) Err() error {
	var errs []error
	for _, i := range r.Errors() {
		errs = append(errs, &IssueError{i})
	}
	return errors.Join(errs...)
}

func (r *Report) add(sev Severity, code Code, obj Ref, format string, a ...any) {
	r.Issues = append(r.Issues, Issue{Severity: sev, Code: code, Message: fmt.Sprintf(format, a...), Object: obj})
}

func (r *Report) errorf(code Code, obj Ref, format string, a ...any) {
	r.add(Error, code, obj, format, a...)
}

func (r *Report) warnf(code Code, obj Ref, format string, a ...any) {
	r.add(Warning, code, obj, format, a...)
}

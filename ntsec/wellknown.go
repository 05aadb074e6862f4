package ntsec

import "sort"

// Well-known SIDs used by the model and by cordon's sandbox ([MS-DTYP]
// 2.4.2.4).
var (
	Everyone              = mustSID(1, 0)       // WD, S-1-1-0
	CreatorOwner          = mustSID(3, 0)       // CO, S-1-3-0: replaced by the new object's owner on inheritance
	CreatorGroup          = mustSID(3, 1)       // CG, S-1-3-1: replaced by the new object's group on inheritance
	OwnerRights           = mustSID(3, 4)       // OW, S-1-3-4: when present, replaces the owner's implicit rights
	Interactive           = mustSID(5, 4)       // IU
	Network               = mustSID(5, 2)       // NU
	Service               = mustSID(5, 6)       // SU
	AnonymousLogon        = mustSID(5, 7)       // AN
	PrincipalSelf         = mustSID(5, 10)      // PS
	AuthenticatedUsers    = mustSID(5, 11)      // AU
	RestrictedCode        = mustSID(5, 12)      // RC
	WriteRestrictedCode   = mustSID(5, 33)      // WR
	LocalSystem           = mustSID(5, 18)      // SY
	LocalService          = mustSID(5, 19)      // LS
	NetworkService        = mustSID(5, 20)      // NS
	BuiltinAdministrators = mustSID(5, 32, 544) // BA
	BuiltinUsers          = mustSID(5, 32, 545) // BU
	BuiltinGuests         = mustSID(5, 32, 546) // BG
	AllAppPackages        = mustSID(15, 2, 1)   // AC

	UntrustedLabel = mustSID(16, 0)      // S-1-16-0
	LowLabel       = mustSID(16, 0x1000) // LW, S-1-16-4096
	MediumLabel    = mustSID(16, 0x2000) // ME, S-1-16-8192
	MediumPlus     = mustSID(16, 0x2100) // MP, S-1-16-8448
	HighLabel      = mustSID(16, 0x3000) // HI, S-1-16-12288
	SystemLabel    = mustSID(16, 0x4000) // SI, S-1-16-16384
)

// aliasToSID holds the SDDL SID strings of [MS-DTYP] 2.5.1.1 whose SID does
// not depend on a domain or a machine.
var aliasToSID = map[string]SID{
	"AN": AnonymousLogon,
	"AO": mustSID(5, 32, 548),
	"AU": AuthenticatedUsers,
	"BA": BuiltinAdministrators,
	"BG": BuiltinGuests,
	"BO": mustSID(5, 32, 551),
	"BU": BuiltinUsers,
	"CO": CreatorOwner,
	"CG": CreatorGroup,
	"CY": mustSID(5, 32, 569),
	"ED": mustSID(5, 9),
	"ER": mustSID(5, 32, 573),
	"HI": HighLabel,
	"IS": mustSID(5, 32, 568),
	"IU": Interactive,
	"LS": LocalService,
	"LU": mustSID(5, 32, 559),
	"LW": LowLabel,
	"ME": MediumLabel,
	"MP": MediumPlus,
	"MU": mustSID(5, 32, 558),
	"NO": mustSID(5, 32, 556),
	"NS": NetworkService,
	"NU": Network,
	"OW": OwnerRights,
	"PO": mustSID(5, 32, 550),
	"PS": PrincipalSelf,
	"PU": mustSID(5, 32, 547),
	"RC": RestrictedCode,
	"RD": mustSID(5, 32, 555),
	"RE": mustSID(5, 32, 552),
	"RM": mustSID(5, 32, 580),
	"RU": mustSID(5, 32, 554),
	"SI": SystemLabel,
	"SO": mustSID(5, 32, 549),
	"SS": mustSID(18, 2),
	"SU": Service,
	"SY": LocalSystem,
	"WD": Everyone,
	"WR": WriteRestrictedCode,
	"AC": AllAppPackages,
	"AA": mustSID(5, 32, 579),
	"AS": mustSID(18, 1),
	"HA": mustSID(5, 32, 578),
	"RA": mustSID(5, 32, 575),
	"ES": mustSID(5, 32, 576),
	"MS": mustSID(5, 32, 577),
	"CD": mustSID(5, 32, 574),
	"UD": mustSID(5, 84, 0, 0, 0, 0, 0),
}

// domainAliases are SDDL SID strings that are relative to a domain (or the
// machine's account domain) and so cannot be resolved by the model.
var domainAliases = map[string]bool{
	"CA": true, "CN": true, "DA": true, "DC": true, "DD": true, "DG": true,
	"DU": true, "EA": true, "LA": true, "LG": true, "PA": true, "RS": true,
	"SA": true, "AP": true, "KA": true, "EK": true, "RO": true,
}

// sidToAlias is the inverse of aliasToSID, used when formatting SDDL.
var sidToAlias = func() map[SID]string {
	m := make(map[SID]string, len(aliasToSID))
	keys := make([]string, 0, len(aliasToSID))
	for k := range aliasToSID {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, dup := m[aliasToSID[k]]; !dup {
			m[aliasToSID[k]] = k
		}
	}
	return m
}()

// Alias returns the SDDL alias for s ("WD" for Everyone), or "" if it has none.
func (s SID) Alias() string { return sidToAlias[s] }

#Requires -Version 5.1
<#
.SYNOPSIS
    Sets up a Windows machine for cordon, builds cordon and runs its tests there.

.DESCRIPTION
    cordon is developed on Linux, where ./scripts/test vets and compiles the
    Windows code and runs its plumbing under Wine. Wine enforces no ACLs and
    no restricted tokens, so the tests that compare ntsec's model of the
    access check with Windows' own (AuthzAccessCheck, CreateRestrictedToken +
    AccessCheck) run only on real Windows with CORDON_REAL_WINDOWS=1. This
    script is the one command for that, on a developer's machine; CI does the
    same in .github/workflows/windows.yml.

      1. Go and git: found on PATH, or installed with winget.
      2. A loud warning if this shell is elevated.
      3. go version, then go build -o bin\cordon.exe .\cmd\cordon.
      4. go vet ./... and go test -count=1 ./... with CORDON_REAL_WINDOWS=1.
      5. A summary. The exit status is 0 only if every step passed.

    Every step runs even when an earlier one failed (except those that need
    a Go that is missing), so one run shows everything.

    Run it as a normal user, in a normal (not "Run as administrator") shell:
    the sandbox is meant for a user's UAC-filtered token, and that is the
    token the restricted-token tests should start from.

.PARAMETER SkipInstall
    Install nothing: a missing go or git is a failure.

.PARAMETER SkipTests
    Stop after building bin\cordon.exe: no go vet, no go test.

.EXAMPLE
    powershell -NoProfile -ExecutionPolicy Bypass -File scripts\setup-windows.ps1

.EXAMPLE
    .\scripts\setup-windows.ps1 -SkipInstall -SkipTests
#>
[CmdletBinding()]
param(
    [switch]$SkipInstall,
    [switch]$SkipTests
)

Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
# PowerShell 7.3+ can turn a native command's non-zero exit status into an
# error; this script checks $LASTEXITCODE itself, step by step.
$PSNativeCommandUseErrorActionPreference = $false

# --- output helpers ----------------------------------------------------------

# One row per step for the summary: Step, Status (PASS/FAIL/SKIP/WARN),
# Seconds, Note.
$script:Results = [System.Collections.Generic.List[object]]::new()

function Add-Result([string]$Step, [string]$Status, [TimeSpan]$Elapsed, [string]$Note = '') {
    $script:Results.Add([pscustomobject]@{
            Step    = $Step
            Status  = $Status
            Seconds = [math]::Round($Elapsed.TotalSeconds, 1)
            Note    = $Note
        })
}

function Write-Banner([string]$Title) {
    $rule = '=' * 70
    Write-Host ''
    Write-Host $rule -ForegroundColor Cyan
    Write-Host "  $Title" -ForegroundColor Cyan
    Write-Host $rule -ForegroundColor Cyan
}

# A warning that must not scroll by unnoticed.
function Write-Loud([string[]]$Lines) {
    $bang = '!' * 70
    Write-Host ''
    Write-Host $bang -ForegroundColor Yellow
    foreach ($line in $Lines) {
        Write-Host "!!  $line" -ForegroundColor Yellow
    }
    Write-Host $bang -ForegroundColor Yellow
    Write-Host ''
}

# Runs a native command, showing it first so the output says what to rerun,
# and returns its exit status. Its output goes to the console, not into the
# return value. $ErrorActionPreference is relaxed for the call because
# Windows PowerShell 5.1 can turn a native command's stderr (go vet reports
# there) into a terminating error under 'Stop'.
function Invoke-Native([string]$FilePath, [string[]]$ArgumentList = @()) {
    Write-Host "+ $FilePath $($ArgumentList -join ' ')"
    $global:LASTEXITCODE = 0
    $ErrorActionPreference = 'Continue'
    & $FilePath @ArgumentList | Out-Host
    return $global:LASTEXITCODE
}

# Runs one native command as a step of the summary; returns $true if it
# exited 0.
function Invoke-Step([string]$Step, [string]$FilePath, [string[]]$ArgumentList) {
    Write-Banner $Step
    $sw = [Diagnostics.Stopwatch]::StartNew()
    $code = Invoke-Native $FilePath $ArgumentList
    $sw.Stop()
    if ($code -eq 0) {
        Add-Result $Step 'PASS' $sw.Elapsed
        return $true
    }
    Add-Result $Step 'FAIL' $sw.Elapsed "exit status $code"
    return $false
}

# --- tools -------------------------------------------------------------------

function Test-Tool([string]$Name) {
    return [bool](Get-Command -Name $Name -CommandType Application -ErrorAction SilentlyContinue)
}

# Installers write the new PATH to the registry, but this process keeps the
# PATH it started with, so a tool just installed would not be found until a
# new shell. Rebuild PATH as a new shell would (Machine, then User), keeping
# any entries this session added on top.
function Update-SessionPath {
    $entries = @()
    foreach ($scope in 'Machine', 'User') {
        $value = [Environment]::GetEnvironmentVariable('Path', $scope)
        if ($value) { $entries += $value -split ';' }
    }
    $current = [Environment]::GetEnvironmentVariable('Path')
    if ($current) { $entries += $current -split ';' }
    $seen = [System.Collections.Generic.HashSet[string]]::new([StringComparer]::OrdinalIgnoreCase)
    $kept = [System.Collections.Generic.List[string]]::new()
    foreach ($entry in $entries) {
        if ($entry -and $seen.Add($entry.TrimEnd('\'))) { $kept.Add($entry) }
    }
    $env:Path = $kept -join ';'
}

# Makes sure $Command is on PATH, installing winget package $WingetId if it
# is not (and -SkipInstall was not given). Returns $true if it is there.
function Install-Tool([string]$Command, [string]$WingetId) {
    $step = "tool: $Command"
    Write-Banner $step
    $sw = [Diagnostics.Stopwatch]::StartNew()
    if (Test-Tool $Command) {
        $path = (Get-Command -Name $Command -CommandType Application | Select-Object -First 1).Path
        Write-Host "$Command found: $path"
        Add-Result $step 'PASS' $sw.Elapsed $path
        return $true
    }
    if ($SkipInstall) {
        Write-Host "$Command is not on PATH, and -SkipInstall says not to install it." -ForegroundColor Red
        Add-Result $step 'FAIL' $sw.Elapsed 'not on PATH (-SkipInstall)'
        return $false
    }
    if (-not (Test-Tool 'winget')) {
        Write-Host "$Command is not on PATH, and winget is not available to install it: install 'App Installer' from the Microsoft Store, or install $WingetId by hand." -ForegroundColor Red
        Add-Result $step 'FAIL' $sw.Elapsed 'not on PATH; no winget to install it'
        return $false
    }
    $code = Invoke-Native 'winget' @('install', '--id', $WingetId, '-e', '--accept-source-agreements', '--accept-package-agreements')
    Update-SessionPath
    # Judge by the result, not winget's exit status: winget also fails with
    # "already installed" when the tool is there but was not on this PATH.
    if (Test-Tool $Command) {
        Add-Result $step 'PASS' $sw.Elapsed "installed with winget ($WingetId)"
        return $true
    }
    Write-Host "$Command is still not on PATH after winget (exit status $code). Open a new shell and run this script again." -ForegroundColor Red
    Add-Result $step 'FAIL' $sw.Elapsed "winget exit status $code; still not on PATH"
    return $false
}

# True if this process runs with the Administrators group enabled, that is
# elevated (or as an administrator with UAC off). Under UAC a normal shell's
# token has Administrators deny-only, and IsInRole says false.
function Test-Elevated {
    $identity = [Security.Principal.WindowsIdentity]::GetCurrent()
    $principal = [Security.Principal.WindowsPrincipal]::new($identity)
    return $principal.IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)
}

# --- main --------------------------------------------------------------------

if ([Environment]::OSVersion.Platform -ne [PlatformID]::Win32NT) {
    throw 'setup-windows.ps1 is for Windows; on Linux run ./scripts/test'
}

# Everything below runs from the repository root, where go.mod is.
$repo = Split-Path -Parent $PSScriptRoot
$total = [Diagnostics.Stopwatch]::StartNew()
Push-Location -LiteralPath $repo
try {
    # Go builds and tests cordon. winget's GoLang.Go is the latest release;
    # if it is older than go.mod's go line, the go command fetches the
    # toolchain go.mod asks for by itself (GOTOOLCHAIN=auto).
    $haveGo = Install-Tool 'go' 'GoLang.Go'
    # git: the checkout is a git repository, go stamps VCS information into
    # the binaries it builds with it, and the smoke suite's Windows rows run
    # git inside the sandbox (they skip when it is missing).
    [void](Install-Tool 'git' 'Git.Git')

    # The sandbox runs a normal user's commands, and the restricted-token
    # tests start from this process's token: as administrator that token
    # has Administrators enabled and a High integrity level, which is not
    # the token cordon will restrict on a real user's machine. Go on, since
    # the results still say something, but loudly.
    $sw = [Diagnostics.Stopwatch]::StartNew()
    if (Test-Elevated) {
        Write-Loud @(
            'THIS SHELL IS ELEVATED (Run as administrator, or UAC is off).',
            'cordon sandboxes a normal user: its tests of restricted tokens assume',
            "the UAC-filtered token of a normal shell, not this process's full one.",
            'Continuing, but rerun from a normal shell for results that count.'
        )
        Add-Result 'not elevated' 'WARN' $sw.Elapsed 'shell is elevated: rerun as a normal user'
    } else {
        Add-Result 'not elevated' 'PASS' $sw.Elapsed
    }

    if ($haveGo) {
        # Shows the Go that will build, after any toolchain switch; an error
        # here (a Go too old to switch) explains the failures that follow.
        [void](Invoke-Step 'go version' 'go' @('version'))
        # The binary a developer tries by hand: bin\cordon.exe access ...
        [void](Invoke-Step 'go build' 'go' @('build', '-o', 'bin\cordon.exe', '.\cmd\cordon'))

        if ($SkipTests) {
            Add-Result 'go vet' 'SKIP' ([TimeSpan]::Zero) '-SkipTests'
            Add-Result 'go test' 'SKIP' ([TimeSpan]::Zero) '-SkipTests'
        } else {
            # go vet type-checks the Windows-only files and their tests.
            [void](Invoke-Step 'go vet' 'go' @('vet', './...'))

            # CORDON_REAL_WINDOWS=1 lets the enforcement tests run
            # (testutil.RealWindows): ntsec's comparisons of the model with
            # AuthzAccessCheck and with real restricted, write-restricted and
            # Low-integrity tokens, and the restricted-token backend's
            # end-to-end and enforcement tests with the smoke suite's
            # Windows rows. The backend refuses an elevated token, so those
            # skip in an elevated shell (testutil.SkipIfElevated): run this
            # script from a normal shell to have them count.
            # Set for this process only, and put back as it was afterwards.
            $saved = [Environment]::GetEnvironmentVariable('CORDON_REAL_WINDOWS')
            [Environment]::SetEnvironmentVariable('CORDON_REAL_WINDOWS', '1')
            try {
                [void](Invoke-Step 'go test (CORDON_REAL_WINDOWS=1)' 'go' @('test', '-count=1', './...'))
            } finally {
                [Environment]::SetEnvironmentVariable('CORDON_REAL_WINDOWS', $saved)
            }
        }
    } else {
        foreach ($step in 'go version', 'go build', 'go vet', 'go test') {
            Add-Result $step 'SKIP' ([TimeSpan]::Zero) 'no go'
        }
    }
} finally {
    Pop-Location
}
$total.Stop()

# --- summary -----------------------------------------------------------------

Write-Banner ('Summary ({0:N1}s)' -f $total.Elapsed.TotalSeconds)
foreach ($r in $script:Results) {
    $color = switch ($r.Status) {
        'PASS' { 'Green' }
        'FAIL' { 'Red' }
        'WARN' { 'Yellow' }
        default { 'Gray' }
    }
    Write-Host ('  {0,-4}  {1,-32} {2,7:N1}s  {3}' -f $r.Status, $r.Step, $r.Seconds, $r.Note) -ForegroundColor $color
}
$failures = @($script:Results | Where-Object { $_.Status -eq 'FAIL' })
if ($failures.Count -gt 0) {
    Write-Host ''
    Write-Host "FAILED ($($failures.Count) step(s)): exit status 1" -ForegroundColor Red
    exit 1
}
Write-Host ''
Write-Host 'OK: exit status 0' -ForegroundColor Green
exit 0

<#
.SYNOPSIS
    Export the Exchange hybrid mail-flow configuration that mailpath reads (read-only).

.DESCRIPTION
    Writes one JSON document, "schema": "mailpath/exchange-export/1", for `mailpath import`, `mailpath diagnose
    --profile` (a profile with `import = "export.json"`) and the GUI (Open -> export file).

    On-premises: run it in the Exchange Management Shell on a Mailbox server (or on an Edge Transport server,
    which only sees itself: add -Append to merge the Edge's half into the same file). It reads:
      Get-ExchangeServer, Get-ExchangeCertificate (per server), Get-ReceiveConnector (per server),
      Get-SendConnector, Get-HybridConfiguration, Get-AcceptedDomain, Get-RemoteDomain, Get-EdgeSubscription,
      Test-EdgeSynchronization, Get-Queue (per server).
    Exchange Online: run it with -ExchangeOnline in a session opened with Connect-ExchangeOnline
    (ExchangeOnlineManagement V3). It reads:
      Get-InboundConnector, Get-OutboundConnector, Get-AcceptedDomain, Get-OrganizationConfig,
      Get-ConnectionInformation (tenant id).

    Only Get-* and Test-EdgeSynchronization are called: nothing is changed. Certificates are exported with their
    public part only (RawData, the DER certificate); private keys are never read or written, and neither are
    passwords, credentials or tokens. A cmdlet that fails (not available on this server, no permission) is
    recorded with its error in the file and the script goes on.

    On an Edge Transport server the organisation-wide sections (send connectors, accepted domains, ...) come
    from the Edge's own directory (AD LDS), not from Active Directory: they are recorded with the Edge's name
    as their server, so that -Append keeps both views.

    Rights: View-Only Organization Management on-premises (Test-EdgeSynchronization and Get-Queue need a role
    with those cmdlets, e.g. Organization Management; without it their sections hold the error); a local
    administrator on an Edge; the View-Only Organization Management or Global Reader role in Exchange Online.

.PARAMETER OutFile
    Where to write the JSON. Default: .\mailpath-export.json

.PARAMETER ExchangeOnline
    Export the Exchange Online half (run in a Connect-ExchangeOnline session) instead of the on-premises one.

.PARAMETER Append
    Merge into an existing export at OutFile: its sections are kept, this run's are added (a section read
    again from the same cmdlet and server replaces the older one, unless this run's attempt failed).

.PARAMETER Server
    On-premises only: the servers to read per-server sections from. Default: every Exchange 2013+ Mailbox
    server and, on an Edge, the local server.

.EXAMPLE
    .\Export-MailpathConfig.ps1 -OutFile C:\temp\contoso.json
    Connect-ExchangeOnline; .\Export-MailpathConfig.ps1 -ExchangeOnline -OutFile C:\temp\contoso.json -Append
    mailpath import C:\temp\contoso.json --write-profile contoso.toml
#>
[CmdletBinding()]
param(
    [string]$OutFile = '.\mailpath-export.json',
    [switch]$ExchangeOnline,
    [switch]$Append,
    [string[]]$Server
)

Set-StrictMode -Version 2.0
$ErrorActionPreference = 'Stop'

# The format version mailpath checks. Bump the script version for changes that keep the schema.
$Schema = 'mailpath/exchange-export/1'
$ScriptVersion = '1.1.0'

# Dates are written as ISO 8601 UTC with the invariant culture (a culture's own time separator, such as
# '.', would otherwise end up in the file).
$Invariant = [System.Globalization.CultureInfo]::InvariantCulture
function ConvertTo-Iso {
    param([datetime]$When)
    $When.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", $Invariant)
}
function Get-NowIso { ConvertTo-Iso (Get-Date) }

# Flatten a value to JSON-friendly data. Remote (deserialized) Exchange objects arrive as property bags whose
# values are strings, lists or nested bags; multi-valued properties become arrays; enums, sizes and
# identities become their .ToString(); dates become ISO 8601 UTC; byte arrays become base64.
function ConvertTo-Flat {
    param($Value, [int]$Depth = 0)
    if ($null -eq $Value) { return $null }
    if ($Value -is [string] -or $Value -is [bool]) { return $Value }
    # Numbers of any width stay numbers (MessageCount, Port, ServiceInstance).
    if ($Value -is [int] -or $Value -is [long] -or $Value -is [double] -or $Value -is [uint32] -or
        $Value -is [uint64] -or $Value -is [int16] -or $Value -is [decimal] -or $Value -is [single]) {
        return $Value
    }
    if ($Value -is [datetime]) { return ConvertTo-Iso $Value }
    if ($Value -is [byte[]]) { return [Convert]::ToBase64String($Value) }
    if ($Depth -lt 3 -and $Value -is [System.Collections.IEnumerable]) {
        $list = @()
        foreach ($item in $Value) { $list += , (ConvertTo-Flat -Value $item -Depth ($Depth + 1)) }
        return , $list
    }
    return $Value.ToString()
}

# Pick the named properties of an object, flattened; a property the object lacks (older Exchange, another
# cloud) is written as null so that mailpath sees "not read", never a guess.
function Select-Flat {
    param($Object, [string[]]$Properties)
    $row = [ordered]@{}
    foreach ($name in $Properties) {
        $prop = $Object.PSObject.Properties[$name]
        if ($null -eq $prop) { $row[$name] = $null } else { $row[$name] = ConvertTo-Flat -Value $prop.Value }
    }
    $row
}

# Run one cmdlet and record it as a section: where it ran, when, what it returned or the error it gave.
# Only the listed properties are kept: nothing else (no private key, no credential) can reach the file.
function Read-Section {
    param(
        [string]$Name,
        [string]$Cmdlet,
        [scriptblock]$Read,
        [string[]]$Properties,
        [string]$ServerName = $null
    )
    $section = [ordered]@{
        name   = $Name
        cmdlet = $Cmdlet
        server = $ServerName
        time   = Get-NowIso
        error  = $null
        items  = @()
    }
    try {
        $items = @()
        foreach ($object in @(& $Read)) {
            if ($null -ne $object) { $items += , (Select-Flat -Object $object -Properties $Properties) }
        }
        $section.items = $items
    } catch {
        $section.error = ($_.Exception.Message -replace '\s+', ' ').Trim()
        Write-Warning "$Cmdlet$(if ($ServerName) { " on $ServerName" }): $($section.error)"
    }
    $section
}

$sections = @()

if ($ExchangeOnline) {
    # Exchange Online PowerShell V3 (Connect-ExchangeOnline).
    $sections += Read-Section -Name 'exo_connection' -Cmdlet 'Get-ConnectionInformation' `
        -Read { Get-ConnectionInformation | Where-Object { $_.State -eq 'Connected' } | Select-Object -First 1 } `
        -Properties @('TenantID', 'Organization', 'ConnectionUri', 'UserPrincipalName')
    $sections += Read-Section -Name 'exo_organization_config' -Cmdlet 'Get-OrganizationConfig' `
        -Read { Get-OrganizationConfig } `
        -Properties @('Name', 'DisplayName', 'RejectDirectSend', 'Guid')
    $sections += Read-Section -Name 'exo_accepted_domains' -Cmdlet 'Get-AcceptedDomain' `
        -Read { Get-AcceptedDomain } `
        -Properties @('Name', 'DomainName', 'DomainType', 'Default', 'InitialDomain')
    $sections += Read-Section -Name 'exo_inbound_connectors' -Cmdlet 'Get-InboundConnector' `
        -Read { Get-InboundConnector } `
        -Properties @('Name', 'Enabled', 'ConnectorType', 'ConnectorSource', 'RequireTls',
            'TlsSenderCertificateName', 'RestrictDomainsToCertificate', 'RestrictDomainsToIPAddresses',
            'SenderDomains', 'SenderIPAddresses', 'AssociatedAcceptedDomains', 'CloudServicesMailEnabled',
            'TreatMessagesAsInternal', 'WhenChanged')
    $sections += Read-Section -Name 'exo_outbound_connectors' -Cmdlet 'Get-OutboundConnector' `
        -Read { Get-OutboundConnector -IncludeTestModeConnectors $true } `
        -Properties @('Name', 'Enabled', 'ConnectorType', 'ConnectorSource', 'SmartHosts', 'UseMXRecord',
            'RecipientDomains', 'TlsSettings', 'TlsDomain', 'RouteAllMessagesViaOnPremises',
            'CloudServicesMailEnabled', 'IsTransportRuleScoped', 'IsValidated', 'LastValidationTimestamp',
            'SmtpDaneMode', 'MtaStsMode', 'TestMode', 'WhenChanged')
} else {
    # On-premises: the Exchange Management Shell (a Mailbox server, or an Edge with -Append).
    # On an Edge, organisation-wide cmdlets read the Edge's own AD LDS: record them under its name.
    $local = Get-ExchangeServer -Identity $env:COMPUTERNAME -ErrorAction SilentlyContinue
    $OrgServer = if ($local -and $local.IsEdgeServer) { $env:COMPUTERNAME } else { $null }

    $sections += Read-Section -Name 'exchange_servers' -Cmdlet 'Get-ExchangeServer' -ServerName $OrgServer `
        -Read { Get-ExchangeServer } `
        -Properties @('Name', 'Fqdn', 'ServerRole', 'AdminDisplayVersion', 'Site', 'IsEdgeServer', 'Edition')

    if (-not $Server) {
        $all = @(Get-ExchangeServer -ErrorAction SilentlyContinue)
        $Server = @($all | Where-Object {
                ($_.ServerRole -match 'Mailbox' -and $_.AdminDisplayVersion -match 'Version 15') -or
                ($_.IsEdgeServer -and $_.Name -eq $env:COMPUTERNAME)
            } | ForEach-Object { $_.Name })
        if (-not $Server) { $Server = @($env:COMPUTERNAME) }
    }

    foreach ($s in $Server) {
        $sections += Read-Section -Name 'exchange_certificates' -Cmdlet 'Get-ExchangeCertificate' -ServerName $s `
            -Read { Get-ExchangeCertificate -Server $s } `
            -Properties @('Thumbprint', 'Subject', 'Issuer', 'CertificateDomains', 'NotBefore', 'NotAfter',
                'Services', 'Status', 'HasPrivateKey', 'IsSelfSigned', 'FriendlyName', 'RawData')
        $sections += Read-Section -Name 'receive_connectors' -Cmdlet 'Get-ReceiveConnector' -ServerName $s `
            -Read { Get-ReceiveConnector -Server $s } `
            -Properties @('Identity', 'Name', 'Server', 'Enabled', 'TransportRole', 'Bindings', 'RemoteIPRanges',
                'Fqdn', 'TlsCertificateName', 'TlsDomainCapabilities', 'AuthMechanism', 'PermissionGroups',
                'RequireTLS')
        $sections += Read-Section -Name 'queues' -Cmdlet 'Get-Queue' -ServerName $s `
            -Read { Get-Queue -Server $s } `
            -Properties @('Identity', 'DeliveryType', 'NextHopDomain', 'Status', 'MessageCount', 'LastError',
                'LastRetryTime', 'NextRetryTime')
    }

    $sections += Read-Section -Name 'send_connectors' -Cmdlet 'Get-SendConnector' -ServerName $OrgServer `
        -Read { Get-SendConnector } `
        -Properties @('Identity', 'Name', 'Enabled', 'AddressSpaces', 'SmartHosts', 'DNSRoutingEnabled',
            'SourceTransportServers', 'Fqdn', 'TlsAuthLevel', 'TlsDomain', 'TlsCertificateName', 'RequireTLS',
            'IgnoreSTARTTLS', 'CloudServicesMailEnabled', 'IsScopedConnector', 'Port')
    $sections += Read-Section -Name 'hybrid_configuration' -Cmdlet 'Get-HybridConfiguration' -ServerName $OrgServer `
        -Read { Get-HybridConfiguration } `
        -Properties @('Domains', 'Features', 'TlsCertificateName', 'SendingTransportServers',
            'ReceivingTransportServers', 'EdgeTransportServers', 'OnPremisesSmartHost', 'ServiceInstance')
    $sections += Read-Section -Name 'accepted_domains' -Cmdlet 'Get-AcceptedDomain' -ServerName $OrgServer `
        -Read { Get-AcceptedDomain } `
        -Properties @('Name', 'DomainName', 'DomainType', 'Default')
    $sections += Read-Section -Name 'remote_domains' -Cmdlet 'Get-RemoteDomain' -ServerName $OrgServer `
        -Read { Get-RemoteDomain } `
        -Properties @('Name', 'DomainName', 'TargetDeliveryDomain', 'TrustedMailInboundEnabled',
            'TrustedMailOutboundEnabled')
    if (-not $OrgServer) {
        # Edge subscriptions live in Active Directory: read them from a Mailbox server only.
        $subscriptions = Read-Section -Name 'edge_subscriptions' -Cmdlet 'Get-EdgeSubscription' `
            -Read { Get-EdgeSubscription } `
            -Properties @('Name', 'Site', 'Domain')
        $sections += $subscriptions
        # Test-EdgeSynchronization only means something when an Edge is subscribed. Its output properties
        # are not documented; these are the names of its result class (EdgeSubscriptionStatus).
        if ($subscriptions.items.Count -gt 0) {
            $sections += Read-Section -Name 'edge_synchronization' -Cmdlet 'Test-EdgeSynchronization' `
                -Read { Test-EdgeSynchronization -ExcludeRecipientTest } `
                -Properties @('Name', 'SyncStatus', 'LeaseHolder', 'LeaseType', 'LeaseExpiryUtc',
                    'LastSynchronizedUtc', 'FailureDetail')
        }
    }
}

# Merge with an earlier export (the other half, or an Edge's part) when asked.
$previous = @()
if ($Append -and (Test-Path -LiteralPath $OutFile)) {
    $old = Get-Content -LiteralPath $OutFile -Raw | ConvertFrom-Json
    if ($old.schema -ne $Schema) { throw "$OutFile is not a $Schema file (schema: $($old.schema))" }
    foreach ($o in @($old.sections)) {
        # A section read again replaces the earlier one, unless this run's attempt failed where it had worked.
        $again = @($sections | Where-Object { $_.name -eq $o.name -and $_.server -eq $o.server })
        if ($again.Count -eq 0) { $previous += , $o; continue }
        if ($again[0].error -and -not $o.error) {
            Write-Warning "$($o.name)$(if ($o.server) { " on $($o.server)" }): keeping the earlier result ($($again[0].error))"
            $sections = @($sections | Where-Object { -not ($_.name -eq $o.name -and $_.server -eq $o.server) })
            $previous += , $o
        }
    }
}

$document = [ordered]@{
    schema         = $Schema
    script_version = $ScriptVersion
    generated      = Get-NowIso
    computer       = $env:COMPUTERNAME
    sections       = @($previous) + @($sections)
}

# UTF-8 without a byte order mark; -Depth 8 keeps nested lists. (Windows PowerShell 5.1 escapes < and > as
# \u003c and \u003e; that is still the same JSON text.)
$json = $document | ConvertTo-Json -Depth 8
$path = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($OutFile)
[System.IO.File]::WriteAllText($path, $json, (New-Object System.Text.UTF8Encoding $false))
$failed = @($sections | Where-Object { $_.error }).Count
Write-Host "mailpath: wrote $($sections.Count) sections ($failed with an error) to $path"

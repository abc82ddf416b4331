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
    public part only (RawData); private keys are never read or written. A cmdlet that fails (not available on
    this server, no permission) is recorded with its error in the file and the script goes on.

    Rights: View-Only Organization Management on-premises (Test-EdgeSynchronization and Get-Queue need a role
    with those cmdlets, e.g. Organization Management; without it their sections hold the error); a local
    administrator on an Edge; the View-Only Organization Management or Global Reader role in Exchange Online.

.PARAMETER OutFile
    Where to write the JSON. Default: .\mailpath-export.json

.PARAMETER ExchangeOnline
    Export the Exchange Online half (run in a Connect-ExchangeOnline session) instead of the on-premises one.

.PARAMETER Append
    Merge into an existing export at OutFile: its sections are kept, this run's are added (a section read
    again from the same cmdlet and server replaces the older one).

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
$ScriptVersion = '1.0.0'

function Get-NowIso {
    (Get-Date).ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ')
}

# Flatten a value to JSON-friendly data. Remote (deserialized) Exchange objects arrive as property bags whose
# values are strings, lists or nested bags; multi-valued properties become arrays; enums, sizes and
# identities become their .ToString(); dates become ISO 8601 UTC; byte arrays become base64.
function ConvertTo-Flat {
    param($Value, [int]$Depth = 0)
    if ($null -eq $Value) { return $null }
    if ($Value -is [string] -or $Value -is [bool] -or $Value -is [int] -or $Value -is [long] -or $Value -is [double]) {
        return $Value
    }
    if ($Value -is [datetime]) { return $Value.ToUniversalTime().ToString('yyyy-MM-ddTHH:mm:ssZ') }
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
    $sections += Read-Section -Name 'exchange_servers' -Cmdlet 'Get-ExchangeServer' `
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

    $sections += Read-Section -Name 'send_connectors' -Cmdlet 'Get-SendConnector' `
        -Read { Get-SendConnector } `
        -Properties @('Identity', 'Name', 'Enabled', 'AddressSpaces', 'SmartHosts', 'DNSRoutingEnabled',
            'SourceTransportServers', 'Fqdn', 'TlsAuthLevel', 'TlsDomain', 'TlsCertificateName', 'RequireTLS',
            'IgnoreSTARTTLS', 'CloudServicesMailEnabled', 'IsScopedConnector')
    $sections += Read-Section -Name 'hybrid_configuration' -Cmdlet 'Get-HybridConfiguration' `
        -Read { Get-HybridConfiguration } `
        -Properties @('Domains', 'Features', 'TlsCertificateName', 'SendingTransportServers',
            'ReceivingTransportServers', 'EdgeTransportServers', 'OnPremisesSmartHost', 'ServiceInstance')
    $sections += Read-Section -Name 'accepted_domains' -Cmdlet 'Get-AcceptedDomain' `
        -Read { Get-AcceptedDomain } `
        -Properties @('Name', 'DomainName', 'DomainType', 'Default')
    $sections += Read-Section -Name 'remote_domains' -Cmdlet 'Get-RemoteDomain' `
        -Read { Get-RemoteDomain } `
        -Properties @('Name', 'DomainName', 'TargetDeliveryDomain', 'TrustedMailInboundEnabled',
            'TrustedMailOutboundEnabled')
    $sections += Read-Section -Name 'edge_subscriptions' -Cmdlet 'Get-EdgeSubscription' `
        -Read { Get-EdgeSubscription } `
        -Properties @('Name', 'Site', 'Domain')
    $sections += Read-Section -Name 'edge_synchronization' -Cmdlet 'Test-EdgeSynchronization' `
        -Read { Test-EdgeSynchronization -ExcludeRecipientTest } `
        -Properties @('Name', 'SyncStatus', 'LeaseHolder', 'LeaseType', 'LeaseExpiry', 'LastSynchronized',
            'FailureDetail')
}

# Merge with an earlier export (the other half, or an Edge's part) when asked.
$previous = @()
if ($Append -and (Test-Path -LiteralPath $OutFile)) {
    $old = Get-Content -LiteralPath $OutFile -Raw | ConvertFrom-Json
    if ($old.schema -ne $Schema) { throw "$OutFile is not a $Schema file (schema: $($old.schema))" }
    foreach ($o in @($old.sections)) {
        $replaced = $sections | Where-Object { $_.name -eq $o.name -and $_.server -eq $o.server }
        if (-not $replaced) { $previous += , $o }
    }
}

$document = [ordered]@{
    schema         = $Schema
    script_version = $ScriptVersion
    generated      = Get-NowIso
    computer       = $env:COMPUTERNAME
    sections       = @($previous) + @($sections)
}

# UTF-8 without a byte order mark; -Depth 8 keeps nested lists.
$json = $document | ConvertTo-Json -Depth 8
$path = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($OutFile)
[System.IO.File]::WriteAllText($path, $json, (New-Object System.Text.UTF8Encoding $false))
$failed = @($sections | Where-Object { $_.error }).Count
Write-Host "mailpath: wrote $($sections.Count) sections ($failed with an error) to $path"

// Vigil on Azure: App Service (Linux, Python 3.11) running `vigil serve` as a user-assigned
// managed identity, which is also the Azure Bot's identity (msaAppType UserAssignedMSI), reads
// secrets from Key Vault (RBAC mode) and signs in to PostgreSQL with Entra ID. No secret value
// appears in this template, its parameters or the app settings.
//
//   az deployment group create -g <resource-group> -f infra/main.bicep -p infra/main.prod.bicepparam

targetScope = 'resourceGroup'

@description('Short name used as the prefix of every resource, e.g. vigil-prod.')
@minLength(3)
@maxLength(20)
param name string

@description('Azure region of everything except the bot registration (global).')
param location string = resourceGroup().location

@allowed(['dev', 'prod'])
param environment string = 'dev'

@description('App Service plan SKU. Premium v3 gives zone redundancy and enough memory for PostgreSQL pools.')
param appServiceSku string = 'P1v3'

@description('App Service instances; prod runs 3, spread over availability zones, so instances can restart while others serve.')
@minValue(1)
@maxValue(30)
param instanceCount int = 1

@description('PostgreSQL Flexible Server SKU and tier.')
param postgresSku string = 'Standard_B1ms'
@allowed(['Burstable', 'GeneralPurpose', 'MemoryOptimized'])
param postgresTier string = 'Burstable'
param postgresStorageGb int = 32

@description('Zone-redundant high availability and geo-redundant backups for PostgreSQL (prod).')
param postgresHighAvailability bool = false

@description('Object id of an Entra group of people who may administer PostgreSQL (optional).')
param postgresAdminGroupObjectId string = ''
param postgresAdminGroupName string = ''

@description('Days of logs kept in Log Analytics.')
param logRetentionDays int = 30

var tenantId = subscription().tenantId
var suffix = uniqueString(resourceGroup().id, name)
var webAppName = '${name}-${suffix}'
var hostName = '${webAppName}.azurewebsites.net'
var keyVaultName = take('kv${replace(name, '-', '')}${suffix}', 24)
var postgresName = '${name}-pg-${suffix}'
var databaseName = 'vigil'
// Built-in role "Key Vault Secrets User": read secret values, nothing else.
var keyVaultSecretsUserRoleId = '4633458b-17de-408a-b874-0445c86b69e6'
// Built-in role "Monitoring Metrics Publisher": with local auth disabled on Application Insights,
// telemetry is accepted only from an Entra identity holding it.
var monitoringMetricsPublisherRoleId = '3913510d-42f4-4e42-8a64-420c390055eb'

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${name}-id'
  location: location
}

resource logs 'Microsoft.OperationalInsights/workspaces@2022-10-01' = {
  name: '${name}-logs'
  location: location
  properties: {
    sku: { name: 'PerGB2018' }
    retentionInDays: logRetentionDays
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${name}-ai'
  location: location
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logs.id
    DisableLocalAuth: true
  }
}

resource telemetryPublisher 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identity.id, monitoringMetricsPublisherRoleId)
  scope: appInsights
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', monitoringMetricsPublisherRoleId)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: keyVaultName
  location: location
  properties: {
    tenantId: tenantId
    sku: { family: 'A', name: 'standard' }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      // checkov:skip=CKV_AZURE_189: without VNet integration App Service reaches Key Vault over its public endpoint; a private endpoint is the next hardening step
      // checkov:skip=CKV_AZURE_109: App Service outbound addresses are shared and change, so an IP allow-list cannot admit Vigil; access is by Entra RBAC only
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, keyVaultSecretsUserRoleId)
  scope: vault
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', keyVaultSecretsUserRoleId)
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
  }
}

resource appInsightsConnection 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  // checkov:skip=CKV_AZURE_41: the connection string does not expire, so an expiry date would only break telemetry
  parent: vault
  name: 'appinsights-connection-string'
  properties: {
    contentType: 'text/plain'
    value: appInsights.properties.ConnectionString
  }
}

resource postgres 'Microsoft.DBforPostgreSQL/flexibleServers@2024-08-01' = {
  name: postgresName
  location: location
  sku: {
    name: postgresSku
    tier: postgresTier
  }
  properties: {
    version: '16'
    storage: {
      storageSizeGB: postgresStorageGb
      autoGrow: 'Enabled'
    }
    backup: {
      backupRetentionDays: postgresHighAvailability ? 35 : 7
      geoRedundantBackup: postgresHighAvailability ? 'Enabled' : 'Disabled'
    }
    highAvailability: {
      mode: postgresHighAvailability ? 'ZoneRedundant' : 'Disabled'
    }
    authConfig: {
      activeDirectoryAuth: 'Enabled'
      passwordAuth: 'Disabled'
      tenantId: tenantId
    }
    network: {
      publicNetworkAccess: 'Enabled'
    }
  }
}

resource postgresLogConnections 'Microsoft.DBforPostgreSQL/flexibleServers/configurations@2024-08-01' = {
  parent: postgres
  name: 'log_connections'
  properties: {
    value: 'on'
    source: 'user-override'
  }
}

resource postgresLogCheckpoints 'Microsoft.DBforPostgreSQL/flexibleServers/configurations@2024-08-01' = {
  parent: postgres
  name: 'log_checkpoints'
  properties: {
    value: 'on'
    source: 'user-override'
  }
  dependsOn: [postgresLogConnections]
}

resource postgresDatabase 'Microsoft.DBforPostgreSQL/flexibleServers/databases@2024-08-01' = {
  parent: postgres
  name: databaseName
  properties: {
    charset: 'UTF8'
    collation: 'en_US.utf8'
  }
}

// App Service has no fixed outbound address without VNet integration; 0.0.0.0 is Azure's
// documented rule for "allow Azure services", and Entra auth still gates every login.
resource postgresAllowAzure 'Microsoft.DBforPostgreSQL/flexibleServers/firewallRules@2024-08-01' = {
  parent: postgres
  name: 'AllowAllAzureServicesAndResourcesWithinAzureIps'
  properties: {
    startIpAddress: '0.0.0.0'
    endIpAddress: '0.0.0.0'
  }
}

// The identity becomes an Entra administrator so that Vigil can create its schema and migrate it.
resource postgresIdentityAdmin 'Microsoft.DBforPostgreSQL/flexibleServers/administrators@2024-08-01' = {
  parent: postgres
  name: identity.properties.principalId
  properties: {
    principalType: 'ServicePrincipal'
    principalName: identity.name
    tenantId: tenantId
  }
  dependsOn: [postgresDatabase, postgresAllowAzure, postgresLogCheckpoints]
}

resource postgresGroupAdmin 'Microsoft.DBforPostgreSQL/flexibleServers/administrators@2024-08-01' = if (!empty(postgresAdminGroupObjectId)) {
  parent: postgres
  name: empty(postgresAdminGroupObjectId) ? 'none' : postgresAdminGroupObjectId
  properties: {
    principalType: 'Group'
    principalName: postgresAdminGroupName
    tenantId: tenantId
  }
  dependsOn: [postgresIdentityAdmin]
}

resource plan 'Microsoft.Web/serverfarms@2023-12-01' = {
  name: '${name}-plan'
  location: location
  kind: 'linux'
  sku: {
    name: appServiceSku
    capacity: instanceCount
  }
  properties: {
    // checkov:skip=CKV_AZURE_225: zone redundant in prod (environment == 'prod'); dev's B1 SKU cannot be, and the check cannot evaluate the expression
    reserved: true
    zoneRedundant: environment == 'prod'
  }
}

resource site 'Microsoft.Web/sites@2023-12-01' = {
  name: webAppName
  location: location
  kind: 'app,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    // checkov:skip=CKV_AZURE_17: Teams and SIEM webhooks cannot present client certificates; requests are authenticated by Bot Framework JWTs and webhook signatures
    // checkov:skip=CKV_AZURE_222: Teams (Bot Framework) and SIEM webhooks must reach /api/messages and /api/alerts from the internet
    // checkov:skip=CKV_AZURE_212: instances are set on the plan (sku.capacity = instanceCount, 3 in prod), which this check does not read
    serverFarmId: plan.id
    httpsOnly: true
    clientAffinityEnabled: false
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      linuxFxVersion: 'PYTHON|3.11'
      appCommandLine: 'vigil serve'
      alwaysOn: true
      http20Enabled: true
      minTlsVersion: '1.2'
      scmMinTlsVersion: '1.2'
      ftpsState: 'Disabled'
      healthCheckPath: '/readyz'
      httpLoggingEnabled: true
      detailedErrorLoggingEnabled: true
      requestTracingEnabled: true
      appSettings: [
        { name: 'VIGIL_HOST', value: '0.0.0.0' }
        { name: 'VIGIL_PORT', value: '8000' }
        { name: 'WEBSITES_PORT', value: '8000' }
        { name: 'SCM_DO_BUILD_DURING_DEPLOYMENT', value: 'true' }
        { name: 'VIGIL_APP_TYPE', value: 'UserAssignedMSI' }
        { name: 'VIGIL_APP_ID', value: identity.properties.clientId }
        { name: 'VIGIL_APP_TENANT_ID', value: tenantId }
        { name: 'VIGIL_MANAGED_IDENTITY_CLIENT_ID', value: identity.properties.clientId }
        { name: 'VIGIL_KEYVAULT_URL', value: vault.properties.vaultUri }
        // No password: auth=entra makes Vigil sign in as the role named after the identity
        // (postgresIdentityAdmin) with a fresh Entra token from the identity client_id, over TLS.
        {
          name: 'VIGIL_DB_URL'
          value: 'postgresql://${identity.name}@${postgres.properties.fullyQualifiedDomainName}:5432/${databaseName}?sslmode=require&auth=entra&client_id=${identity.properties.clientId}'
        }
        {
          name: 'APPLICATIONINSIGHTS_CONNECTION_STRING'
          value: '@Microsoft.KeyVault(SecretUri=${appInsightsConnection.properties.secretUri})'
        }
      ]
    }
  }
  dependsOn: [secretsUser, postgresIdentityAdmin]
}

resource bot 'Microsoft.BotService/botServices@2022-09-15' = {
  name: '${name}-bot'
  location: 'global'
  kind: 'azurebot'
  sku: { name: 'S1' }
  properties: {
    displayName: name
    endpoint: 'https://${hostName}/api/messages'
    msaAppType: 'UserAssignedMSI'
    msaAppId: identity.properties.clientId
    msaAppMSIResourceId: identity.id
    msaAppTenantId: tenantId
    disableLocalAuth: true
    publicNetworkAccess: 'Enabled'
  }
}

resource teamsChannel 'Microsoft.BotService/botServices/channels@2022-09-15' = {
  parent: bot
  name: 'MsTeamsChannel'
  location: 'global'
  properties: {
    channelName: 'MsTeamsChannel'
    properties: {
      isEnabled: true
      acceptedTerms: true
    }
  }
}

resource siteDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: site
  properties: {
    workspaceId: logs.id
    logs: [
      { category: 'AppServiceConsoleLogs', enabled: true }
      { category: 'AppServiceAppLogs', enabled: true }
      { category: 'AppServiceHTTPLogs', enabled: true }
    ]
    metrics: [{ category: 'AllMetrics', enabled: true }]
  }
}

resource vaultDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: vault
  properties: {
    workspaceId: logs.id
    logs: [{ categoryGroup: 'audit', enabled: true }]
  }
}

resource postgresDiagnostics 'Microsoft.Insights/diagnosticSettings@2021-05-01-preview' = {
  name: 'to-log-analytics'
  scope: postgres
  properties: {
    workspaceId: logs.id
    logs: [{ categoryGroup: 'allLogs', enabled: true }]
  }
}

output webAppName string = site.name
output hostName string = hostName
output messagingEndpoint string = 'https://${hostName}/api/messages'
@description('The bot\'s Microsoft App ID: pass it to `vigil package --app-id`.')
output botAppId string = identity.properties.clientId
output keyVaultName string = vault.name
output keyVaultUrl string = vault.properties.vaultUri
output postgresHost string = postgres.properties.fullyQualifiedDomainName

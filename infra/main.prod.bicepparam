// Production: three instances across zones, general-purpose PostgreSQL with zone-redundant HA and
// geo-redundant backups. Set postgresAdminGroupObjectId to the DBA group's object id.
using 'main.bicep'

param name = 'vigil-prod'
param environment = 'prod'
param appServiceSku = 'P1v3'
param instanceCount = 3
param postgresSku = 'Standard_D2ds_v5'
param postgresTier = 'GeneralPurpose'
param postgresHighAvailability = true
param postgresStorageGb = 128
param postgresAdminGroupObjectId = ''
param postgresAdminGroupName = ''
param logRetentionDays = 90

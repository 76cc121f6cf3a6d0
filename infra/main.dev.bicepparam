// Development: one instance, burstable PostgreSQL, no HA.
using 'main.bicep'

param name = 'vigil-dev'
param environment = 'dev'
param appServiceSku = 'B1'
param instanceCount = 1
param postgresSku = 'Standard_B1ms'
param postgresTier = 'Burstable'
param postgresHighAvailability = false
param logRetentionDays = 30

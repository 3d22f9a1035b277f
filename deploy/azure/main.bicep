// main.bicep: imgpipe as an Azure Function (a custom handler on the Flex
// Consumption plan), triggered by Event Grid when a blob lands in the upload
// container, writing its variants to the variants container.
//
//   az group create -n imgpipe -l westeurope
//   az deployment group create -g imgpipe -f deploy/azure/main.bicep
//   (then publish deploy/azure/function-app with the bundle unpacked into it:
//    docs/deploy-azure.md)
//
// What it makes: a StorageV2 account with the uploads, variants, dead-letter
// and deployment containers (and the queue of the queue-triggered variant);
// Application Insights; a Linux Flex Consumption plan and its Function App
// (runtime "custom") with a system-assigned identity that holds Storage Blob
// Data Contributor (and Storage Queue Data Contributor) on the account, so
// imgpipe reads and writes with a managed identity token and no key; an
// Event Grid system topic on the account and a subscription of BlobCreated
// and BlobDeleted under the upload container to the ImgpipeEventGrid
// function, with retries and a dead-letter container.
//
// Why Flex Consumption: Linux Consumption takes no new features since
// 2025-09-30 and retires on 2028-09-30; Flex runs custom handlers, scales to
// zero, bills per execution, and its 2,048 MB instance is one vCPU (imgpipe
// renders one source per CPU). Elastic Premium (EP1) also runs custom
// handlers, but keeps an instance warm and billed: set planSku to EP1 to
// choose it.

@description('Where everything goes.')
param location string = resourceGroup().location

@description('A prefix for every name (letters and digits, at most 11).')
@maxLength(11)
param prefix string = 'imgpipe'

@description('The container uploads land in; the trigger listens here only.')
param uploadContainer string = 'uploads'

@description('The container the variants are written to (never the upload container).')
param variantContainer string = 'variants'

@description('The variant spec (docs/variants.md); empty: imgpipe\'s default web set.')
param variants string = ''

@description('Delete a source\'s variants when it is deleted (delete) or keep them (keep).')
@allowed([ 'keep', 'delete' ])
param onDelete string = 'keep'

@description('Memory of one instance: 2048 MB is one vCPU.')
@allowed([ 512, 2048, 4096 ])
param instanceMemoryMB int = 2048

@description('FC1 (Flex Consumption, default) or EP1 (Elastic Premium).')
@allowed([ 'FC1', 'EP1' ])
param planSku string = 'FC1'

var unique = uniqueString(resourceGroup().id, prefix)
var accountName = toLower(take('${prefix}${unique}', 24))
var deployContainer = 'app-package'
var deadLetterContainer = 'deadletter'
var queueName = 'imgpipe-uploads'
var flex = planSku == 'FC1'
// built-in role definitions
var blobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'
var queueDataContributor = '974c5e8b-45b9-4653-ba55-5f855dd0fb88'

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: accountName
  location: location
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2025-01-01' = {
  parent: storage
  name: 'default'
}

resource uploads 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = {
  parent: blobService
  name: uploadContainer
}

resource variantsContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = {
  parent: blobService
  name: variantContainer
}

resource deadLetter 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = {
  parent: blobService
  name: deadLetterContainer
}

resource packages 'Microsoft.Storage/storageAccounts/blobServices/containers@2025-01-01' = {
  parent: blobService
  name: deployContainer
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2025-01-01' = {
  parent: storage
  name: 'default'
}

resource uploadQueue 'Microsoft.Storage/storageAccounts/queueServices/queues@2025-01-01' = {
  parent: queueService
  name: queueName
}

resource insights 'Microsoft.Insights/components@2020-02-02' = {
  name: '${prefix}-insights'
  location: location
  kind: 'web'
  properties: { Application_Type: 'web' }
}

resource plan 'Microsoft.Web/serverfarms@2024-11-01' = {
  name: '${prefix}-plan'
  location: location
  kind: flex ? 'functionapp' : 'elastic'
  sku: flex ? { name: 'FC1', tier: 'FlexConsumption' } : { name: 'EP1', tier: 'ElasticPremium' }
  properties: { reserved: true }
}

// what imgpipe reads (docs/configuration.md); no key: the managed identity
var imgpipeSettings = [
  { name: 'IMGPIPE_STORE', value: 'azure' }
  { name: 'AZURE_STORAGE_ACCOUNT', value: storage.name }
  { name: 'IMGPIPE_SOURCE_BUCKET', value: uploadContainer }
  { name: 'IMGPIPE_DEST_BUCKET', value: variantContainer }
  { name: 'IMGPIPE_ON_DELETE', value: onDelete }
  { name: 'IMGPIPE_VARIANTS', value: variants }
  // Functions times a custom handler out after functionTimeout; imgpipe
  // answers before
  { name: 'IMGPIPE_SERVE_TIMEOUT', value: '240' }
]
// what the Functions host reads
var hostSettings = [
  { name: 'AzureWebJobsStorage__accountName', value: storage.name }
  { name: 'AzureWebJobsStorage__credential', value: 'managedidentity' }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: insights.properties.ConnectionString }
]

resource app 'Microsoft.Web/sites@2024-11-01' = {
  name: '${prefix}-${unique}'
  location: location
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    siteConfig: {
      appSettings: flex ? concat(imgpipeSettings, hostSettings) : concat(imgpipeSettings, hostSettings, [
        { name: 'FUNCTIONS_WORKER_RUNTIME', value: 'custom' }
        { name: 'FUNCTIONS_EXTENSION_VERSION', value: '~4' }
      ])
      minTlsVersion: '1.2'
    }
    functionAppConfig: flex ? {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deployContainer}'
          authentication: { type: 'SystemAssignedIdentity' }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: 100
        instanceMemoryMB: instanceMemoryMB
      }
      runtime: { name: 'custom', version: '1.0' }
    } : null
  }
}

resource blobRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, app.id, blobDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataContributor)
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource queueRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, app.id, queueDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', queueDataContributor)
    principalId: app.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: '${prefix}-${unique}-events'
  location: location
  // its own identity writes dead letters: the account takes no shared key
  identity: { type: 'SystemAssigned' }
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

resource deadLetterRole 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, topic.id, blobDataContributor)
  scope: storage
  properties: {
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', blobDataContributor)
    principalId: topic.identity.principalId
    principalType: 'ServicePrincipal'
  }
}

// Event Grid to the function; the subject filter keeps it to the upload
// container, so imgpipe's own writes (variants) never trigger it
resource subscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: topic
  name: 'imgpipe-uploads'
  dependsOn: [ blobRole, deadLetterRole ]
  properties: {
    destination: {
      endpointType: 'AzureFunction'
      properties: {
        resourceId: '${app.id}/functions/ImgpipeEventGrid'
        maxEventsPerBatch: 1
        preferredBatchSizeInKilobytes: 64
      }
    }
    eventDeliverySchema: 'EventGridSchema'
    filter: {
      includedEventTypes: [ 'Microsoft.Storage.BlobCreated', 'Microsoft.Storage.BlobDeleted' ]
      subjectBeginsWith: '/blobServices/default/containers/${uploadContainer}/blobs/'
    }
    retryPolicy: {
      maxDeliveryAttempts: 30
      eventTimeToLiveInMinutes: 1440
    }
    deadLetterWithResourceIdentity: {
      identity: { type: 'SystemAssigned' }
      deadLetterDestination: {
        endpointType: 'StorageBlob'
        properties: {
          resourceId: storage.id
          blobContainerName: deadLetterContainer
        }
      }
    }
  }
}

output functionApp string = app.name
output storageAccount string = storage.name
output uploadUrl string = '${storage.properties.primaryEndpoints.blob}${uploadContainer}'

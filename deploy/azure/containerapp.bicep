// containerapp.bicep: imgpipe's container image (make image, pushed to a
// registry the app can pull from) as an Azure Container App running
// `imgpipe serve`, with Event Grid posting blob events to it as a webhook.
//
//   az deployment group create -g imgpipe -f deploy/azure/containerapp.bicep \
//     -p image=REGISTRY/imgpipe:TAG -p token=$(openssl rand -hex 24)
//
// The webhook does Event Grid's validation handshake itself, and its token
// rides in the subscription's URL (?token=), which Event Grid sends on every
// delivery. imgpipe answers 200 for done or failed for good, 503 for a
// temporary failure (Event Grid retries), 400 for an event it cannot read
// (Event Grid dead-letters it at once).

param location string = resourceGroup().location
@maxLength(11)
param prefix string = 'imgpipe'
@description('The image: imgpipe\'s container image in a registry.')
param image string
@secure()
@description('The webhook\'s token (IMGPIPE_SERVE_TOKEN); goes in the subscription URL.')
param token string
param uploadContainer string = 'uploads'
param variantContainer string = 'variants'
param variants string = ''

var unique = uniqueString(resourceGroup().id, prefix)
var accountName = toLower(take('${prefix}${unique}', 24))
var blobDataContributor = 'ba92f5b4-2d11-453d-a403-e96b0029c9fe'

resource storage 'Microsoft.Storage/storageAccounts@2025-01-01' = {
  name: accountName
  location: location
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowBlobPublicAccess: false
    allowSharedKeyAccess: false
    minimumTlsVersion: 'TLS1_2'
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

resource logs 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: '${prefix}-logs'
  location: location
  properties: { sku: { name: 'PerGB2018' } }
}

resource env 'Microsoft.App/managedEnvironments@2025-01-01' = {
  name: '${prefix}-env'
  location: location
  properties: {
    appLogsConfiguration: {
      destination: 'log-analytics'
      logAnalyticsConfiguration: {
        customerId: logs.properties.customerId
        sharedKey: logs.listKeys().primarySharedKey
      }
    }
  }
}

resource app 'Microsoft.App/containerApps@2025-01-01' = {
  name: '${prefix}-${unique}'
  location: location
  identity: { type: 'SystemAssigned' }
  properties: {
    managedEnvironmentId: env.id
    configuration: {
      ingress: { external: true, targetPort: 8080 }
      secrets: [ { name: 'serve-token', value: token } ]
    }
    template: {
      containers: [
        {
          name: 'imgpipe'
          image: image
          // 2 vCPU: imgpipe renders one source per CPU
          resources: { cpu: json('2.0'), memory: '4Gi' }
          env: [
            { name: 'PORT', value: '8080' }
            { name: 'IMGPIPE_LISTEN', value: '0.0.0.0' }
            { name: 'IMGPIPE_SERVE_TOKEN', secretRef: 'serve-token' }
            // Event Grid waits 30 s for an answer
            { name: 'IMGPIPE_SERVE_TIMEOUT', value: '25' }
            { name: 'IMGPIPE_STORE', value: 'azure' }
            { name: 'AZURE_STORAGE_ACCOUNT', value: storage.name }
            { name: 'IMGPIPE_SOURCE_BUCKET', value: uploadContainer }
            { name: 'IMGPIPE_DEST_BUCKET', value: variantContainer }
            { name: 'IMGPIPE_VARIANTS', value: variants }
          ]
          probes: [
            { type: 'Liveness', httpGet: { path: '/healthz', port: 8080 } }
          ]
        }
      ]
      scale: { minReplicas: 0, maxReplicas: 10 }
    }
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

resource topic 'Microsoft.EventGrid/systemTopics@2025-02-15' = {
  name: '${prefix}-${unique}-events'
  location: location
  properties: {
    source: storage.id
    topicType: 'Microsoft.Storage.StorageAccounts'
  }
}

resource subscription 'Microsoft.EventGrid/systemTopics/eventSubscriptions@2025-02-15' = {
  parent: topic
  name: 'imgpipe-uploads'
  dependsOn: [ blobRole ]
  properties: {
    destination: {
      endpointType: 'WebHook'
      properties: {
        endpointUrl: 'https://${app.properties.configuration.ingress.fqdn}/?token=${token}'
        maxEventsPerBatch: 1
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
  }
}

output url string = 'https://${app.properties.configuration.ingress.fqdn}'

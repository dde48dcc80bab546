// Request and response shapes of the network endpoints (Docker's field names). Responses are
// described for openapi/ and not checked at run time.
import { z } from 'zod';
import { queryBool, queryFilters, queryString } from './common.ts';

const strMap = z.record(z.string(), z.string());

const IPAMConfig = z.looseObject({
  Subnet: z.string().optional(),
  IPRange: z.string().optional(),
  Gateway: z.string().optional(),
  AuxiliaryAddresses: strMap.nullable().optional(),
});

export const NetworkCreateBody = z.looseObject({
  Name: z.string(),
  CheckDuplicate: z.boolean().optional(),
  Driver: z.string().optional(),
  Scope: z.string().optional(),
  Internal: z.boolean().optional(),
  Attachable: z.boolean().optional(),
  Ingress: z.boolean().optional(),
  ConfigOnly: z.boolean().optional(),
  ConfigFrom: z.looseObject({ Network: z.string().optional() }).nullable().optional(),
  EnableIPv4: z.boolean().nullable().optional(),
  EnableIPv6: z.boolean().nullable().optional(),
  IPAM: z
    .looseObject({ Driver: z.string().optional(), Config: z.array(IPAMConfig).nullable().optional(), Options: strMap.nullable().optional() })
    .nullable()
    .optional(),
  Options: strMap.nullable().optional(),
  Labels: strMap.nullable().optional(),
});

export const NetworkCreateResponse = z.object({ Id: z.string(), Warning: z.string() });

export const NetworkListQuery = z.object({ filters: queryFilters.optional() });

export const NetworkInspectQuery = z.object({ verbose: queryBool.optional(), scope: queryString.optional() });

export const NetworkPruneQuery = z.object({ filters: queryFilters.optional() });
export const NetworkPruneResponse = z.object({ NetworksDeleted: z.array(z.string()) });

const EndpointSettings = z.looseObject({
  IPAMConfig: z.looseObject({ IPv4Address: z.string().optional(), IPv6Address: z.string().optional(), LinkLocalIPs: z.array(z.string()).nullable().optional() }).nullable().optional(),
  Links: z.array(z.string()).nullable().optional(),
  Aliases: z.array(z.string()).nullable().optional(),
  MacAddress: z.string().optional(),
  DriverOpts: strMap.nullable().optional(),
});

export const NetworkConnectBody = z.looseObject({ Container: z.string(), EndpointConfig: EndpointSettings.nullable().optional() });
export const NetworkDisconnectBody = z.looseObject({ Container: z.string(), Force: z.boolean().optional() });

export const Network = z.looseObject({
  Name: z.string(),
  Id: z.string(),
  Created: z.string(),
  Scope: z.string(),
  Driver: z.string(),
  EnableIPv6: z.boolean(),
  IPAM: z.looseObject({ Driver: z.string(), Options: strMap.nullable(), Config: z.array(IPAMConfig) }),
  Internal: z.boolean(),
  Attachable: z.boolean(),
  Ingress: z.boolean(),
  ConfigFrom: z.object({ Network: z.string() }),
  ConfigOnly: z.boolean(),
  Containers: z.record(z.string(), z.object({ Name: z.string(), EndpointID: z.string(), MacAddress: z.string(), IPv4Address: z.string(), IPv6Address: z.string() })),
  Options: strMap,
  Labels: strMap,
});

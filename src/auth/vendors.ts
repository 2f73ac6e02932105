import { UsageError } from '../core/errors.js';
import { layer, pick, type Layer, type Setting, type Values } from '../core/settings.js';

/**
 * Clouds whose IAM URL follows from a region, as openstacksdk's vendor profiles give it
 * (`openstack/config/vendors/otc.json`, `otc-swiss.json`) and the Huawei Cloud SDK's region list
 * (`services/iam/v3/region/region.go`). The first region is the default, as openstacksdk takes it.
 */
interface Vendor {
  label: string;
  regions: readonly string[];
  /** The Keystone v3 base for a region. */
  url(region: string): string;
  /** The URL when no region is given; else the first region's. */
  global?: string;
}

const HUAWEI_REGIONS = [
  'ap-southeast-1',
  'af-south-1',
  'ap-southeast-2',
  'ap-southeast-3',
  'cn-east-2',
  'cn-east-3',
  'cn-north-1',
  'cn-north-2',
  'cn-north-4',
  'cn-north-9',
  'cn-south-1',
  'cn-south-2',
  'cn-southwest-2',
  'eu-west-0',
  'eu-west-101',
  'la-north-2',
  'la-south-2',
  'na-mexico-1',
  'sa-brazil-1',
] as const;

export const VENDORS: Readonly<Record<string, Vendor>> = {
  otc: { label: 'Open Telekom Cloud', regions: ['eu-de', 'eu-nl'], url: (region) => `https://iam.${region}.otc.t-systems.com/v3` },
  'otc-swiss': { label: 'Open Telekom Cloud Swiss', regions: ['eu-ch2'], url: () => 'https://iam-pub.eu-ch2.sc.otc.t-systems.com/v3' },
  huaweicloud: {
    label: 'Huawei Cloud',
    regions: HUAWEI_REGIONS,
    // eu-west-101 is served from the .eu domain; with no region, the SDK's global endpoint.
    url: (region) => (region === 'eu-west-101' ? 'https://iam.eu-west-101.myhuaweicloud.eu/v3' : `https://iam.${region}.myhuaweicloud.com/v3`),
    global: 'https://iam.myhuaweicloud.com/v3',
  },
};

export const VENDOR: Setting = {
  key: 'vendor',
  flag: '--vendor',
  arg: '<name>',
  env: ['AUTHCTL_VENDOR'],
  clouds: 'profile',
  choices: Object.keys(VENDORS),
  saved: 'profile',
  commands: ['login'],
  help: 'the cloud whose IAM URL follows from --region (an explicit --auth-url wins)',
};

/** The vendor's IAM URL for `region` (its default without one), or a usage error naming the valid regions. */
export function vendorAuthUrl(name: string, region: string | undefined, from: string): string {
  const vendor = VENDORS[name];
  if (!vendor) throw new UsageError(`unknown vendor ${JSON.stringify(name)} (from ${from})`, { hint: `use one of: ${Object.keys(VENDORS).join(', ')}` });
  if (region === undefined) return vendor.global ?? vendor.url(vendor.regions[0]!);
  if (!vendor.regions.includes(region)) {
    throw new UsageError(`${vendor.label} has no region ${JSON.stringify(region)}`, {
      hint: `use one of: ${vendor.regions.join(', ')}; or give the IAM URL with --auth-url`,
    });
  }
  return vendor.url(region);
}

/**
 * The layers with the vendor's IAM URL in front, when a vendor is named and no flag, variable
 * or clouds.yaml entry gives an auth URL (an explicit URL always wins; one saved in the profile
 * does not beat a vendor and region named now). Pure.
 */
export function withVendorUrl(layers: readonly Layer[]): Layer[] {
  const vendor = pick(layers, 'vendor');
  if (!vendor || typeof vendor.value !== 'string') return [...layers];
  if (layers.some((from) => from.kind !== 'profile' && from.values.authUrl !== undefined)) return [...layers];
  const region = pick(layers, 'region');
  const regionName = typeof region?.value === 'string' ? region.value : undefined;
  const url = vendorAuthUrl(vendor.value, regionName, vendor.source.name);
  const origin = `${vendor.source.name} ${vendor.value}${region ? `, region ${regionName} from ${region.source.name}` : ', its default region'}`;
  return [layer(vendor.source.kind, { authUrl: url } as Values, origin), ...layers];
}

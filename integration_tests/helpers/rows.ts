/** Generated rows for tests, the demo and the benchmark: deterministic, realistic Contact-shaped data. */

const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Ken', 'Radia', 'Linus'];
const LAST = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Dijkstra',
  'Liskov',
  'Knuth',
  'Hamilton',
  'Thompson',
  'Perlman',
  'Torvalds',
];
const TITLES = [
  'Support Engineer',
  'Customer Success Manager',
  'Account Executive',
  'Data Engineer',
  'VP Operations',
];

/** A Contact row keyed by External_ID__c `C-<i>`; `version` changes values between runs. */
export function contactRow(i: number, version = 1): Record<string, unknown> {
  return {
    External_ID__c: `C-${i}`,
    FirstName: FIRST[i % FIRST.length],
    LastName: `${LAST[(i * 7) % LAST.length]} ${i}`,
    Email: `contact${i}@example.com`,
    Phone: `+1 415 555 ${String(i % 10_000).padStart(4, '0')}`,
    Title: TITLES[(i + version) % TITLES.length],
    Department: `Dept v${version}`,
    Birthdate: `19${String(50 + (i % 50)).padStart(2, '0')}-0${1 + (i % 9)}-1${i % 9}`,
    MailingCity: ['Lisbon', 'Osaka', 'Lagos', 'Quito'][i % 4],
    MailingLatitude: Math.round((i % 180) - 90 + 0.5 * (i % 2)),
    Description: `Customer ${i}, synced from the warehouse (version ${version})`,
  };
}

/** The column names of contactRow, for configured catalogs. */
export const CONTACT_COLUMNS = Object.keys(contactRow(0));

export function firstJsonObject(line: string): any;
export function eventLines(logs: string, event?: string): any[];

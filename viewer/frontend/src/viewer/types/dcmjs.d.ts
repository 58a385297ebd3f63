// dcmjs ships no type declarations; the tag browser reads only its data dictionary.
declare module "dcmjs";
